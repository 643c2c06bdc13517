#!/usr/bin/env node
// Builds the call-verification word lists:
//   src/Countersign/CallVerification/Words/en.txt
//   src/Countersign/CallVerification/Words/fr.txt
//   src/Countersign/CallVerification/Words/README.md
//
// Usage:  node scripts/make-wordlists.mjs [--packages DIR]
//
// Node 20+, no dependencies of its own: it installs the pinned npm packages below into a
// temporary folder (`npm install --no-save --ignore-scripts --prefix <tmp> pkg@version ...`),
// reads their data files and deletes the folder again. `--packages DIR` (or the environment
// variable WORDLIST_PACKAGES) uses DIR instead and keeps it: DIR is installed into when it has
// no node_modules yet, so a second run needs no network. The installed versions are checked
// against the pins either way. Same packages in, same bytes out.
// WORDLIST_DEBUG=DIR also writes, per language, every eligible word past the cut and every word
// each filter dropped (with the reason), for reviewing the rules.
//
// The rules are described in the README this script writes (see readme() below); in short:
//   frequency order from OpenSubtitles counts (@zxcvbn-ts/language-*/src/commonWords.json)
//   -> 6 to 9 letters a-z, NFC, first occurrence only
//   -> in the Letterpress word list (an-array-of-*-words) AND accepted as written, lower case,
//      by the Hunspell dictionary (dictionary-* through nspell): drops names, places, brands,
//      misspellings, slang and abbreviations
//   -> offensive-word filter (English: naughty-words en + badwords-list; French: naughty-words
//      fr + fr-CA): whole words with their inflections, plus a short list of roots matched
//      anywhere in a word
//   -> SENSITIVE roots and EXCLUDE words below (judgement: unfit to read aloud on a bank call)
//   -> the first LIST_SIZE words, kept in frequency order (most common first).

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const OUT_DIR = path.join(ROOT, 'src', 'Countersign', 'CallVerification', 'Words');

/** Words per list: 2^12, so about 12 bits per word (11 within one window parity, see Words.cs). */
const LIST_SIZE = 4096;
const MIN_LEN = 6;
const MAX_LEN = 9;
const MAX_FILE_BYTES = 60 * 1024;

// Exact versions; the licences were read from each package's package.json / LICENSE / NOTICE.
const PACKAGES = [
  { name: '@zxcvbn-ts/language-en', version: '4.1.1', licence: 'MIT (code); commonWords.json: OpenSubtitles 2024 via OPUS, ODC-BY (attribution, see NOTICE.md)', role: 'English frequency ranking (src/commonWords.json)' },
  { name: '@zxcvbn-ts/language-fr', version: '4.1.2', licence: 'MIT (code); commonWords.json: OpenSubtitles 2024 via OPUS, ODC-BY (attribution, see NOTICE.md)', role: 'French frequency ranking (src/commonWords.json)' },
  { name: 'an-array-of-english-words', version: '2.0.0', licence: 'MIT', role: 'English word list (Letterpress list): membership test' },
  { name: 'an-array-of-french-words', version: '2.0.0', licence: 'MIT', role: 'French word list (Letterpress list): membership test' },
  { name: 'dictionary-en', version: '4.0.0', licence: 'MIT AND BSD (SCOWL-derived en_US Hunspell dictionary)', role: 'English Hunspell dictionary: lower-case spelling test' },
  { name: 'dictionary-fr', version: '3.0.0', licence: 'MPL-2.0 (Grammalecte/Dicollecte French Hunspell dictionary)', role: 'French Hunspell dictionary: lower-case spelling test' },
  { name: 'nspell', version: '2.1.5', licence: 'MIT', role: 'Hunspell-compatible checker that reads the two dictionaries' },
  { name: 'naughty-words', version: '1.2.0', licence: 'CC-BY-4.0 (LDNOOBW, Shutterstock)', role: 'offensive words: en.json, fr.json, fr-CA-u-sd-caqc.json' },
  { name: 'badwords-list', version: '1.0.0', licence: 'MIT', role: 'offensive words (English)' },
];

// ---------------------------------------------------------------------------------------------
// Offensive-word filter.
//
// Each language is checked against its own lists only (applying the French list to English
// words turned "chatte" into "chatter" and "bitte" into "bitter"). Every single-word entry
// (entries with spaces are phrases and cannot equal one word) is matched as a whole word: the
// candidate equals the entry, the entry without accents, or an inflection of either (English:
// plural -s/-es, -ed, -ing, with a final "e" dropped or a final consonant doubled, and y -> ied/ies;
// French: -s -e -es -x and, for -er verbs, the present, imperfect, future, conditional and
// participle endings). Entries are NOT matched as substrings: "ass" must not remove
// "assessment", "anal" not "analysis", "con" not "conseil", "bite" not "habite".
// Substrings are matched only for the roots in OFFENSIVE_ROOTS: strings that no common word
// contains innocently.
const OFFENSIVE_ROOTS = {
  en: ['fuck', 'shit', 'cunt', 'nigg', 'bitch', 'whore', 'slut', 'jizz', 'dildo', 'porn', 'pussy', 'penis', 'vagina', 'faggot', 'asshole', 'bastard', 'masturb', 'orgasm', 'boob', 'tits'],
  fr: ['putain', 'merd', 'connard', 'connass', 'salope', 'salaud', 'encul', 'couill', 'branl', 'pouffiass', 'enfoir', 'chiott', 'gouine', 'baise', 'foutr', 'bougnoul'],
};

// Innocent words that the whole-word rule catches by accident (a homograph of an inflection).
const OFFENSIVE_ALLOW = {
  en: ['spaced', 'spacing', 'spiced', 'pawned', 'pawning', 'butted', 'butting', 'flange'],
  fr: ['bandes'],
};

// ---------------------------------------------------------------------------------------------
// Judgement, for words that are not swearing but do not belong on a call with one's bank. The
// source is film subtitles, so it is full of them. A candidate is dropped when it STARTS with one
// of these roots (so "kill" drops "killer" but not "skilled"; roots that would catch innocent
// words, like "demon" in "demonstrate", are exact words in EXCLUDE instead). Grouped by reason:
const SENSITIVE_ROOTS = {
  en: [
    // violence, death, weapons
    'kill', 'murder', 'dead', 'death', 'dying', 'suicid', 'funeral', 'burial', 'buried', 'corpse', 'coffin', 'cemeter',
    'graveyard', 'morgue', 'autopsy', 'homicid', 'massacr', 'slaughter', 'genocid', 'coroner', 'deceased', 'drown',
    'strangl', 'poison', 'tortur', 'kidnap', 'abduct', 'hostage', 'ransom', 'hijack', 'terror', 'violen', 'assault',
    'attack', 'abuse', 'abusi', 'molest', 'harass', 'bully', 'bulli', 'brutal', 'cruel', 'wound', 'bleed', 'blood',
    'injur', 'trauma', 'execution', 'stabbed', 'stabbing', 'lethal', 'predator', 'assassin', 'sniper', 'revenge',
    'vengeance', 'avenge', 'hatred', 'hating', 'hateful', 'weapon', 'bullet', 'gunshot', 'gunfire', 'gunman', 'gunmen',
    'gunpoint', 'pistol', 'rifle', 'shotgun', 'grenade', 'missile', 'bomb', 'explos', 'explod', 'dynamite', 'ammunit',
    'shoot', 'firearm', 'artillery', 'knives', 'dagger', 'sword', 'caliber', 'magnum',
    // crime, police, fraud
    'crime', 'crimin', 'felon', 'prison', 'inmate', 'jail', 'convict', 'arrest', 'handcuff', 'police', 'parole',
    'probation', 'custody', 'detention', 'sentenced', 'verdict', 'guilt', 'suspect', 'suspicio', 'culprit', 'fugitive',
    'robber', 'robbed', 'robbing', 'steal', 'stolen', 'theft', 'thief', 'thiev', 'burglar', 'smuggl', 'fraud', 'scam',
    'swindl', 'forger', 'counterfeit', 'blackmail', 'brib', 'extort', 'launder', 'cartel', 'gangster', 'mafia',
    'traitor', 'treason', 'betray', 'hack', 'corrupt', 'snitch', 'informant', 'bandit', 'stalk', 'pervert', 'illegal',
    'lawsuit', 'warrant', 'decei', 'decept', 'threat', 'victim', 'punch', 'cheat', 'offend', 'violat', 'detective',
    'defendant', 'testif', 'testimon', 'witness', 'courtroom', 'forensic', 'precinct', 'sheriff', 'constable', 'warden',
    'detain', 'curfew', 'evidence', 'lawyer', 'attorney', 'ambush', 'captive', 'scheme', 'breach', 'scandal', 'dealer',
    'sucker', 'mayday',
    // money, banking, security, and words that sound like the verdict of the check itself
    'password', 'passcode', 'passport', 'account', 'transfer', 'payment', 'deposit', 'credit', 'debit', 'debt', 'money',
    'cash', 'dollar', 'bank', 'wallet', 'salary', 'paycheck', 'payroll', 'mortgage', 'pension', 'savings', 'financ',
    'invest', 'loan', 'insurance', 'secur', 'secret', 'verif', 'confirm', 'correct', 'approv', 'accept', 'reject',
    'denied', 'deny', 'success', 'fail', 'mistake', 'invalid', 'error', 'cancel', 'agreed', 'positive', 'negative',
    'match', 'identity', 'identif', 'authori', 'signature', 'official', 'genuine', 'authentic', 'legitim', 'trust',
    'unlock', 'emergency', 'urgent', 'immediate', 'hurry', 'refund', 'receipt', 'invoice', 'billing', 'currency',
    'profit', 'expense', 'purchase', 'lottery', 'jackpot', 'gambl', 'casino', 'betting', 'budget', 'income', 'wealth',
    'rupees', 'francs', 'pounds', 'assets', 'auction', 'poverty', 'homeless', 'beggar',
    // sex and the body
    'sex', 'naked', 'virgin', 'seduc', 'condom', 'brothel', 'stripper', 'lingerie', 'intimate', 'kinky', 'mistress',
    'lesbian', 'lovers', 'breast', 'thigh', 'pregnan', 'abortion', 'hormone', 'flirt', 'kiss', 'underwear', 'moan',
    // drugs and drink
    'drunk', 'drug', 'cocaine', 'alcohol', 'liquor', 'whiskey', 'whisky', 'vodka', 'tequila', 'bourbon',
    'scotch', 'booze', 'brandy', 'sherry', 'champagne', 'cocktail', 'cigar', 'tobacco', 'marijuana', 'narcotic',
    'overdose', 'addict', 'junkie', 'stoned', 'hangover', 'morphine', 'opium', 'martini',
    // illness and distress
    'cancer', 'disease', 'illness', 'sickness', 'infect', 'virus', 'tumor', 'epidemic', 'plague', 'pneumonia',
    'diagnos', 'symptom', 'seizure', 'paraly', 'cripple', 'disabled', 'disabilit', 'syndrome', 'insan', 'lunatic',
    'madman', 'psycho', 'maniac', 'depress', 'anxiety', 'cardiac', 'stroke', 'despair', 'griev', 'mourn', 'widow',
    'orphan', 'divorc', 'doomed', 'curse', 'misery', 'miserab', 'suffer', 'tragedy', 'tragic', 'asthma',
    // religion, politics, ethnicity, nationality
    'christian', 'catholic', 'church', 'priest', 'pastor', 'religio', 'pagan', 'satan', 'devil', 'worship', 'pray',
    'almighty', 'prophet', 'prophec', 'disciple', 'monastery', 'convent', 'salvation', 'sinner', 'deacon', 'preacher',
    'afterlife', 'goddess', 'blasphem', 'reverend', 'saint', 'holiness', 'chapel', 'liberal', 'communis', 'soviet', 'nazi', 'fascis', 'politic', 'regime',
    'dictator', 'ghetto', 'tribal', 'savage', 'racis', 'slave', 'immigra', 'refugee', 'french', 'danish', 'polish',
    // insults, and endearments an advisor should not say
    'stupid', 'idiot', 'moron', 'loser', 'coward', 'pathetic', 'worthless', 'useless', 'jackass', 'scumbag', 'weirdo',
    'freak', 'creep', 'hypocrit', 'ignoran', 'fool', 'dumb', 'scoundrel', 'filth', 'hideous', 'disgust', 'insult',
    'offens', 'darling', 'sweetie', 'sweetheart', 'dearest', 'gorgeous', 'handsome', 'sexy',
  ],
  fr: [
    // violence, mort, armes
    'tue', 'meurtr', 'meur', 'mourir', 'mourr', 'mourant', 'mort', 'suicid', 'cadavre', 'cercueil', 'enterr', 'tombeau',
    'autopsie', 'homicide', 'massacr', 'assassin', 'empoison', 'poison', 'tortur', 'kidnapp', 'otage', 'violen',
    'violer', 'violeu', 'agress', 'attaqu', 'attentat', 'abus', 'harcel', 'brutal', 'cruel', 'bless', 'sang', 'saign',
    'venge', 'vengean', 'arme', 'fusil', 'pistolet', 'revolver', 'flingu', 'munition', 'bombe', 'explos', 'grenade',
    'missile', 'tireur', 'couteau', 'poignard', 'dynamite', 'calibre', 'artillerie', 'crever', 'menace', 'carnage',
    'bourreau', 'pendaison', 'battre', 'battu', 'frapp', 'cogner', 'tabass', 'mour', 'abatt', 'assaut', 'victim',
    'terreur', 'embuscade', 'violat', 'trauma', 'fatal', 'plaie', 'morgue', 'testament', 'manipul', 'intimid',
    // crime, police, fraude
    'crime', 'crimin', 'prison', 'police', 'polici', 'flic', 'menott', 'coupab', 'suspect', 'voleu', 'braqu',
    'cambriol', 'escroc', 'arnaqu', 'fraud', 'chantage', 'corromp', 'corrupt', 'trafic', 'dealer', 'gangster', 'mafia',
    'cartel', 'drogu', 'trahi', 'espion', 'pirat', 'complice', 'complot', 'mouchard', 'magistrat', 'procureur',
    'probation', 'sursis', 'inculp', 'condamn', 'prisonn', 'tribunal', 'avocat', 'fugitif', 'intrus', 'voyou',
    'racaille', 'bandit', 'preuve', 'mandat', 'verdict', 'coffrer', 'cavale', 'trich',
    // argent, banque, sécurité, et mots qui sonnent comme le verdict de la vérification
    'argent', 'banque', 'bancaire', 'banquier', 'compte', 'comptab', 'paiement', 'paier', 'paiera', 'paient', 'payer',
    'payez', 'payait', 'virement', 'transfert', 'dette', 'dollar', 'francs', 'monnaie', 'pognon', 'salaire', 'pension',
    'assurance', 'financ', 'investi', 'emprunt', 'facture', 'cheque', 'rembours', 'caisse', 'loterie', 'casino',
    'parier', 'budget', 'profit', 'acompte', 'secret', 'passeport', 'confirm', 'correct', 'approuv', 'accept', 'refus',
    'rejet', 'erreur', 'valide', 'invalide', 'annul', 'urgence', 'urgent', 'signature', 'officiel', 'authentique',
    'confiance', 'positif', 'positiv', 'exact', 'fausse', 'mensonge', 'menteu', 'mentir', 'mentez', 'identique',
    'valable', 'billet', 'montant', 'faillite', 'bourse', 'redevable', 'amende', 'centime', 'retrait', 'encaiss',
    // sexe et corps
    'sexe', 'sexu', 'sexy', 'vierge', 'virginit', 'capote', 'lingerie', 'amant', 'bisou', 'embrass', 'enceinte',
    'avort', 'orgasm', 'fantasm', 'intime', 'cuisse', 'fesse', 'poitrine', 'culotte', 'drague', 'flirt', 'lesbien',
    'pervers', 'hormone', 'prostitu', 'concubine', 'seins', 'sperme', 'caress', 'excit', 'coquin', 'fourrer',
    // drogue et alcool
    'alcool', 'ivre', 'ivrogne', 'saoul', 'whisky', 'vodka', 'tequila', 'bourbon', 'cognac', 'scotch', 'champagne',
    'cocktail', 'cigare', 'clope', 'tabac', 'marijuana', 'morphine', 'overdose', 'pilule', 'cachet', 'seringue',
    'toxico', 'junkie',
    // maladie et détresse
    'malad', 'cancer', 'tumeur', 'infect', 'virus', 'epidem', 'grippe', 'pneumonie', 'infarctus', 'cardiaque',
    'syndrome', 'handicap', 'infirme', 'aveugle', 'paraly', 'dingue', 'cingl', 'psycho', 'maniaque', 'asthme',
    'souffr', 'angoiss', 'ambulance', 'divorc', 'veuve', 'orphelin', 'deuil', 'chagrin', 'triste', 'maudi', 'malheur',
    'agonie', 'famine', 'tragi',
    // religion, politique, origines, nationalités
    'christ', 'catholi', 'religi', 'pasteur', 'rabbin', 'musulman', 'islam', 'bouddha', 'satan', 'diable', 'seigneur',
    'sermon', 'chapelle', 'paroisse', 'moine', 'couvent', 'disciple', 'saint', 'croyan', 'croyant', 'communis', 'nazi',
    'fascis', 'politi', 'terroris', 'dictat', 'ghetto', 'tribu', 'esclav', 'racis', 'immigr', 'anglais', 'allemand',
    'chinois', 'japonais', 'italien', 'espagnol', 'russe', 'indien', 'mexicain', 'irlandais', 'arabe', 'asiatique',
    'suisse', 'canadien', 'barbare',
    // insultes, et mots tendres qu'un conseiller ne dit pas
    'stupide', 'idiot', 'abruti', 'minable', 'pitoyable', 'bouffon', 'andouille', 'ringard', 'morveux', 'mauviette',
    'vaurien', 'ignoble', 'odieux', 'immonde', 'vermine', 'ordure', 'grosse', 'ridicule', 'hypocrit',
    'gonzesse', 'imposteur', 'vicieux', 'sournois', 'amoureu', 'mignon', 'insult', 'offens', 'humili',
    // vulgar or slang that the offensive lists miss
    'conner', 'fout', 'salop', 'gosse', 'chienne', 'crotte', 'engueul',
  ],
};

// Single words dropped after review (exact match): words that read as a name, a place or a brand
// although the dictionaries accept them in lower case, and words a root cannot take without
// collateral damage (e.g. "demon" would also drop "demonstrate").
const EXCLUDE = {
  en: [
    'charlie', 'johnny', 'martin', 'carter', 'mickey', 'barney', 'bailey', 'nelson', 'graham', 'warren', 'heather',
    'veronica', 'hector', 'phoebe', 'miller', 'cooper', 'walker', 'turner', 'victor', 'batman', 'superman', 'sheila',
    'jasmine', 'barbie', 'tucker', 'griffin', 'rogers', 'chandler', 'jasper', 'newton', 'napoleon', 'sawyer', 'tanner',
    'timothy', 'wright', 'sanders', 'freeman', 'sierra', 'felicity', 'august', 'turkey', 'jersey', 'oxford',
    'shanghai', 'google', 'amazon', 'twitter', 'madame', 'monsieur', 'phoenix', 'brooks', 'wheeler', 'bender',
    'buster', 'valentine', 'pentagon', 'demon', 'demons', 'demonic', 'grave', 'graves', 'forged', 'executed', 'hanged',
    'beaten', 'whites', 'blacks', 'oriental', 'heroin', 'crappy', 'dammit', 'screwed', 'naughty', 'affair', 'hoover',
    'chicks', 'titanic', 'douche',
  ],
  fr: [
    'richard', 'richards', 'robert', 'roberts', 'boston', 'canada', 'carter', 'charlotte', 'joseph', 'spencer',
    'gloria', 'victoria', 'jersey', 'palmer', 'benjamin', 'superman', 'harper', 'brandon', 'dallas', 'virginie',
    'florence', 'lester', 'julien', 'merlin', 'madeleine', 'argentine', 'lorraine', 'pascal', 'guillaume', 'gracie',
    'chester', 'oxford', 'yankees', 'portland', 'brooks', 'jasper', 'tanner', 'sierra', 'dalton', 'franco', 'panama',
    'sherry', 'marina', 'business', 'interview', 'enfer', 'noyer', 'noyade', 'balle', 'balles', 'voleur', 'voleurs',
    'voleuse', 'paris', 'prier', 'prions', 'nichons', 'juif', 'juive', 'juifs', 'pourri', 'pourrie', 'pourris',
    'pourries', 'pourrir', 'pourrit', 'boules', 'pendre', 'pendu', 'golden',
  ],
};
// ---------------------------------------------------------------------------------------------

const LANGS = {
  en: {
    letterpress: 'an-array-of-english-words',
    hunspell: 'dictionary-en',
    frequency: '@zxcvbn-ts/language-en',
    offensive: (pkgs) => [...pkgs.naughty.en, ...pkgs.badwords],
  },
  fr: {
    letterpress: 'an-array-of-french-words',
    hunspell: 'dictionary-fr',
    frequency: '@zxcvbn-ts/language-fr',
    offensive: (pkgs) => [...pkgs.naughty.fr, ...pkgs.naughty['fr-CA-u-sd-caqc']],
  },
};

const WORD = new RegExp(`^[a-z]{${MIN_LEN},${MAX_LEN}}$`);
// Lower-case words with the accented letters the spec would allow in French; counted, not kept.
const ACCENTED_WORD = new RegExp(`^[a-zéèêëàâîïôûùüÿçœæ]{${MIN_LEN},${MAX_LEN}}$`, 'u');

function main() {
  const args = process.argv.slice(2);
  let dir = process.env.WORDLIST_PACKAGES || null;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--packages' && args[i + 1]) dir = path.resolve(args[++i]);
    else throw new Error(`unknown argument ${args[i]}; usage: node scripts/make-wordlists.mjs [--packages DIR]`);
  }
  const keep = dir !== null;
  dir ??= fs.mkdtempSync(path.join(os.tmpdir(), 'countersign-wordlists-'));
  try {
    install(dir);
    const pkgs = load(dir);
    const results = {};
    for (const lang of Object.keys(LANGS)) results[lang] = build(lang, pkgs);
    fs.mkdirSync(OUT_DIR, { recursive: true });
    const files = {};
    for (const [lang, r] of Object.entries(results)) {
      const text = r.words.join('\n') + '\n';
      check(lang, r.words, text);
      fs.writeFileSync(path.join(OUT_DIR, `${lang}.txt`), text, 'utf8');
      files[lang] = { bytes: Buffer.byteLength(text, 'utf8'), sha256: createHash('sha256').update(text, 'utf8').digest('hex') };
      console.log(`${lang}.txt: ${r.words.length} words, ${files[lang].bytes} bytes, sha256 ${files[lang].sha256}`);
    }
    fs.writeFileSync(path.join(OUT_DIR, 'README.md'), readme(results, files), 'utf8');
    console.log(`wrote ${path.relative(ROOT, OUT_DIR)}/{en.txt,fr.txt,README.md}`);
  } finally {
    if (!keep) fs.rmSync(dir, { recursive: true, force: true });
  }
}

function install(dir) {
  const installed = () => PACKAGES.every((p) => fs.existsSync(path.join(dir, 'node_modules', p.name, 'package.json')));
  if (!installed()) {
    const specs = PACKAGES.map((p) => `${p.name}@${p.version}`);
    console.log(`npm install ${specs.join(' ')} (into ${dir})`);
    execFileSync('npm', ['install', '--no-save', '--no-package-lock', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error', '--prefix', dir, ...specs], {
      stdio: ['ignore', 'inherit', 'inherit'],
      shell: process.platform === 'win32',
    });
  }
  for (const p of PACKAGES) {
    const meta = JSON.parse(fs.readFileSync(path.join(dir, 'node_modules', p.name, 'package.json'), 'utf8'));
    if (meta.version !== p.version) throw new Error(`${p.name} is ${meta.version} in ${dir}, expected ${p.version}`);
  }
}

function load(dir) {
  const nm = (...parts) => path.join(dir, 'node_modules', ...parts);
  const json = (...parts) => JSON.parse(fs.readFileSync(nm(...parts), 'utf8'));
  const require = createRequire(path.join(dir, 'noop.js'));
  const naughty = {};
  for (const code of ['en', 'fr', 'fr-CA-u-sd-caqc']) naughty[code] = json('naughty-words', `${code}.json`);
  return {
    nm,
    json,
    nspell: require('nspell'),
    naughty,
    badwords: require('badwords-list').array,
  };
}

const fold = (s) => s.normalize('NFD').replace(/\p{M}/gu, '').normalize('NFC');

function inflections(lang, entry) {
  const out = new Set([entry]);
  if (lang === 'en') {
    out.add(/(s|x|z|ch|sh)$/.test(entry) ? entry + 'es' : entry + 's');
    const stems = [entry.endsWith('e') ? entry.slice(0, -1) : entry];
    if (/^[^aeiou]*[aeiou][bdfgklmnprtvz]$/.test(entry)) stems.push(entry + entry.at(-1));
    if (/[^aeiou]y$/.test(entry)) out.add(entry.slice(0, -1) + 'ied').add(entry.slice(0, -1) + 'ies');
    for (const s of stems) for (const suf of ['ed', 'ing']) out.add(s + suf);
  } else {
    for (const suf of ['s', 'e', 'es', 'x']) out.add(entry + suf);
    if (entry.endsWith('er')) {
      const s = entry.slice(0, -2);
      for (const suf of ['e', 'es', 'ent', 'ons', 'ez', 'ais', 'ait', 'aient', 'ions', 'iez', 'ant', 'ai', 'as', 'a', 'asse', 'erai', 'eras', 'era', 'erons', 'erez', 'eront', 'erais', 'erait', 'eraient', 'erions', 'eriez'])
        out.add(s + suf);
      for (const suf of ['é', 'ée', 'és', 'ées']) out.add(fold(s + suf));
    }
  }
  return out;
}

function offensiveMatcher(lang, entries) {
  const whole = new Set();
  for (const raw of entries) {
    const e = raw.toLowerCase().normalize('NFC').trim();
    if (!e || /[\s]/.test(e)) continue;
    for (const v of [e, fold(e)]) for (const w of inflections(lang, v)) whole.add(w);
  }
  const roots = OFFENSIVE_ROOTS[lang];
  const allow = new Set(OFFENSIVE_ALLOW[lang]);
  return (w) => {
    if (allow.has(w)) return null;
    if (whole.has(w)) return `whole word`;
    const r = roots.find((x) => w.includes(x));
    return r ? `contains "${r}"` : null;
  };
}

function build(lang, pkgs) {
  const cfg = LANGS[lang];
  const frequency = pkgs.json(cfg.frequency, 'src', 'commonWords.json');
  const letterpress = new Set(pkgs.json(cfg.letterpress, 'index.json').map((w) => w.normalize('NFC')));
  const spell = pkgs.nspell({
    aff: fs.readFileSync(pkgs.nm(cfg.hunspell, 'index.aff')),
    dic: fs.readFileSync(pkgs.nm(cfg.hunspell, 'index.dic')),
  });
  const offensive = offensiveMatcher(lang, cfg.offensive(pkgs));
  const sensitive = SENSITIVE_ROOTS[lang];
  const exclude = new Set(EXCLUDE[lang]);

  const stats = { source: frequency.length, shape: 0, accented: 0, duplicate: 0, letterpress: 0, hunspell: 0, offensive: 0, sensitive: 0, excluded: 0, eligible: 0 };
  const dropped = { offensive: [], sensitive: [], excluded: [] };
  const seen = new Set();
  const eligible = [];
  for (const raw of frequency) {
    const w = String(raw).normalize('NFC');
    if (!WORD.test(w)) {
      stats.shape++;
      if (ACCENTED_WORD.test(w)) stats.accented++;
      continue;
    }
    if (seen.has(w)) { stats.duplicate++; continue; }
    seen.add(w);
    if (!letterpress.has(w)) { stats.letterpress++; continue; }
    if (!spell.correct(w)) { stats.hunspell++; continue; }
    const why = offensive(w);
    if (why) { stats.offensive++; dropped.offensive.push(`${w} (${why})`); continue; }
    const root = sensitive.find((r) => w.startsWith(r));
    if (root) { stats.sensitive++; dropped.sensitive.push(`${w} (${root})`); continue; }
    if (exclude.has(w)) { stats.excluded++; dropped.excluded.push(w); continue; }
    eligible.push(w);
  }
  stats.eligible = eligible.length;
  if (eligible.length < LIST_SIZE) throw new Error(`${lang}: only ${eligible.length} eligible words, need ${LIST_SIZE}`);
  const words = eligible.slice(0, LIST_SIZE);
  if (process.env.WORDLIST_DEBUG) {
    const dbg = path.join(process.env.WORDLIST_DEBUG, lang);
    fs.mkdirSync(dbg, { recursive: true });
    fs.writeFileSync(path.join(dbg, 'eligible.txt'), eligible.join('\n') + '\n');
    for (const [k, v] of Object.entries(dropped)) fs.writeFileSync(path.join(dbg, `dropped-${k}.txt`), v.join('\n') + '\n');
  }
  return { words, stats, cutoff: eligible[LIST_SIZE - 1] };
}

function check(lang, words, text) {
  if (words.length < 2000) throw new Error(`${lang}: ${words.length} words, fewer than 2,000`);
  const bad = words.filter((w) => !WORD.test(w));
  if (bad.length) throw new Error(`${lang}: words outside the rule: ${bad.slice(0, 10).join(', ')}`);
  if (new Set(words).size !== words.length) throw new Error(`${lang}: duplicate words`);
  if (Buffer.byteLength(text, 'utf8') > MAX_FILE_BYTES) throw new Error(`${lang}: file larger than ${MAX_FILE_BYTES} bytes`);
}

function readme(results, files) {
  const pkgRows = PACKAGES.map((p) => `| \`${p.name}\` | ${p.version} | ${p.licence} | ${p.role} |`).join('\n');
  const statRows = Object.entries(results)
    .map(([lang, { stats: s, words }]) =>
      `| ${lang} | ${s.source} | ${s.shape} | ${s.duplicate} | ${s.letterpress} | ${s.hunspell} | ${s.offensive} | ${s.sensitive} | ${s.excluded} | ${s.eligible} | **${words.length}** |`)
    .join('\n');
  const fileRows = Object.entries(files).map(([lang, f]) => `| \`${lang}.txt\` | ${results[lang].words.length} | ${f.bytes} | \`${f.sha256}\` |`).join('\n');
  const roots = (o, indent = '') => Object.entries(o).map(([l, r]) => `${indent}- ${l}: ${r.length ? r.map((x) => `\`${x}\``).join(', ') : '(none)'}`).join('\n');
  return `# Call-verification word lists

Generated by \`scripts/make-wordlists.mjs\`; do not edit by hand. To regenerate (Node 20+, npm, network
access to the npm registry), from the repository root:

\`\`\`sh
node scripts/make-wordlists.mjs
\`\`\`

The script installs the exact package versions below into a temporary folder, builds the lists and
removes the folder. The output is deterministic: the same packages give the same bytes (see the
SHA-256 sums below). \`Words.cs\` embeds the \`.txt\` files; changing a list changes which word every
pair shows, so regenerate only on purpose.

## Files

One word per line, UTF-8, LF line endings, a final newline. **Order: by frequency, most common first**
(rank in the OpenSubtitles counts), not alphabetical.

| file | words | bytes | SHA-256 |
| --- | --- | --- | --- |
${fileRows}

## Sources and licences

| package | version | licence | used for |
| --- | --- | --- | --- |
${pkgRows}

- Frequency: \`src/commonWords.json\` of the two \`@zxcvbn-ts/language-*\` packages, a list of words ranked by
  frequency in the OpenSubtitles 2024 corpus (Helsinki-NLP / OPUS, https://opus.nlpl.eu/). That data is
  under ODC-BY, which asks for attribution: these lists are a processed derivative of OpenSubtitles 2024
  via OPUS, attributed to the subtitle contributors and rights holders, as the packages' NOTICE.md says.
  The packages' \`wikipedia\` lists were not used (more names and technical terms).
- Dictionary check: the Letterpress word lists (\`an-array-of-*-words\`) and the Hunspell dictionaries
  (\`dictionary-en\`, en_US, from SCOWL; \`dictionary-fr\`, from Grammalecte/Dicollecte) are used only to
  decide which words to keep; no text of theirs is copied beyond the words themselves.
- Offensive words: \`naughty-words\` is the "List of Dirty, Naughty, Obscene, and Otherwise Bad Words"
  (LDNOOBW) under CC-BY-4.0; \`badwords-list\` is MIT.

## Rules

For each language, walk the frequency list from the most common word down and keep a word when all of
these hold; stop at ${LIST_SIZE} words (2^12; a window draws from one parity, 2,048 words, 11 bits).

1. **Shape**: ${MIN_LEN} to ${MAX_LEN} letters, \`a\`–\`z\` only, after Unicode NFC; first occurrence only.
   This drops contractions and apostrophes (\`don't\`, \`l'\`), hyphens, digits, capitals and accented
   letters.
2. **French charset decision: plain \`a\`–\`z\` only, no accented letters.** Accented words would be
   allowed by the spec, but there are far more unaccented French words than needed, and plain words
   avoid any trouble with fonts, normalisation or a reader hesitating over an accent. The French list
   is still French spelling: a word is kept only if it is spelled so in the dictionaries (so \`etait\`
   for \`était\` is never in it; \`maison\`, \`fromage\`, \`jamais\` are). This step set aside
   ${results.fr.stats.accented} source entries of the right length with accented letters.
3. **Dictionary word, not a name**: the word is in the Letterpress list of its language *and* the
   Hunspell dictionary accepts it exactly as written, in lower case. Hunspell rejects a lower-case
   proper noun (\`michael\`, \`boston\`, \`english\`, \`facebook\` are only accepted capitalised), so this
   removes names, places, nationalities and brands, as well as subtitle spellings and slang
   (\`gonna\`, \`selfie\`). The English dictionary is en_US: British spellings (\`colour\`, \`centre\`)
   are dropped.
4. **Offensive words.** English words are checked against \`naughty-words\` \`en.json\` and
   \`badwords-list\`; French words against \`naughty-words\` \`fr.json\` and \`fr-CA-u-sd-caqc.json\`.
   - *Whole word*: the candidate equals a single-word entry, the entry without accents, or an
     inflection of it (English plural \`-s\`/\`-es\`, \`-ed\`, \`-ing\`, with a final \`e\` dropped or a
     final consonant doubled, and \`y\` → \`-ied\`/\`-ies\`; French \`-s -e -es -x\` and the endings of
     \`-er\` verbs). Phrases (entries with a space) cannot equal one word and are ignored. Innocent
     homographs that this catches by accident are kept (the \`OFFENSIVE_ALLOW\` arrays):
${roots(OFFENSIVE_ALLOW, '     ')}
   - *Substring*: entries are **not** matched inside other words (\`ass\` must not remove
     \`assessment\`, \`anal\` not \`analysis\`, \`con\` not \`contrat\`, \`bite\` not \`habite\`), except
     for these roots, which no common word contains innocently:
${roots(OFFENSIVE_ROOTS, '     ')}
5. **Unfit on a call with one's bank** (judgement; the source is film subtitles): words **starting
   with** one of the \`SENSITIVE_ROOTS\` (${SENSITIVE_ROOTS.en.length} English, ${SENSITIVE_ROOTS.fr.length} French), about violence and death, weapons,
   crime, police and fraud; money, banking and security, and words that sound like the verdict of
   the check itself (\`confirm\`, \`correct\`, \`accept\`, \`password\`, \`urgent\`); sex and the body;
   drugs and drink; illness and grief; religion, politics, ethnicity and nationality; insults and
   endearments (\`darling\`). Prefix match: \`kill\` drops \`killer\`, not \`skilled\`.
6. **Excluded after review**, exact words (the \`EXCLUDE\` arrays, ${EXCLUDE.en.length} English, ${EXCLUDE.fr.length} French): words that read as
   a name, place or brand although the dictionaries accept them in lower case (\`martin\`, \`victor\`,
   \`google\`, \`richard\`), and words a root cannot take without collateral damage (\`demon\` would
   also drop \`demonstrate\`).

<details><summary>The roots and exclusions</summary>

\`SENSITIVE_ROOTS\`:
${roots(SENSITIVE_ROOTS)}

\`EXCLUDE\`:
${roots(EXCLUDE)}

</details>

Similar words (\`surprise\`, \`surprises\`) may both be present; homophones are not filtered.

## Counts

Number of source entries dropped at each step (a word failing several rules is counted at the first):

| list | source entries | shape | duplicate | Letterpress | Hunspell | offensive | sensitive | excluded | eligible | kept |
| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |
${statRows}

The last word kept is \`${results.en.cutoff}\` (en) and \`${results.fr.cutoff}\` (fr).
`;
}

main();
