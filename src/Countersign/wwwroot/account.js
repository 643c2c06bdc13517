// Recovery codes on /account: copy them to the clipboard or download them as a text file. The buttons stay hidden
// without JavaScript; the codes are on the page either way, and "I have saved them" is a plain form.
const list = document.getElementById('recovery-codes');
const tools = document.getElementById('codes-tools');
const status = document.getElementById('codes-copied');
const codes = () => [...(list?.querySelectorAll('code') ?? [])].map((c) => c.textContent.trim());
// The file's words come from the page (data-file-*), so they are in its language; English is the fallback.
const text = () => `${tools?.dataset.fileHeading ?? `Countersign recovery codes for ${document.getElementById('account-username')?.textContent ?? ''}`}\n`
  + `${tools?.dataset.fileNote ?? 'Each works once, in place of a code from your authenticator app.'}\n\n${codes().join('\n')}\n`;


if (list && tools) {
  tools.hidden = false;
  document.getElementById('copy-codes')?.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(text());
      status.textContent = status.dataset.copied ?? 'Copied.';
    } catch {
      status.textContent = status.dataset.failed ?? 'The browser did not allow copying: select the codes and copy them by hand.';
    }
  });
  document.getElementById('download-codes')?.addEventListener('click', () => {
    const url = URL.createObjectURL(new Blob([text()], { type: 'text/plain' }));
    const link = Object.assign(document.createElement('a'), { href: url, download: 'countersign-recovery-codes.txt' });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  });
}
