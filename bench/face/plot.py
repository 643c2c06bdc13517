"""Histograms and DET curve for docs/face.md; also prints DeepFace's accuracy/FMR/FNMR per model."""
import csv, sys
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt

scores_path, pivot_path, out = sys.argv[1:4]
DEFAULT = 0.55  # FaceEngine.DefaultThreshold

rows = list(csv.DictReader(open(scores_path)))
gen = [float(r["distance"]) for r in rows if r["same_person"] == "yes" and r["distance"]]
imp = [float(r["distance"]) for r in rows if r["same_person"] == "no" and r["distance"]]

def det(g, i, lower_is_same=True):
    pts = []
    for t in sorted(set(g + i)):
        fmr = sum(d <= t for d in i) / len(i)
        fnmr = sum(d > t for d in g) / len(g)
        pts.append((fmr, fnmr, t))
    return pts

# DeepFace's own distances (cosine) per model, with DeepFace's default cosine thresholds.
pivot = list(csv.DictReader(open(pivot_path)))
deepface_thresholds = {"VGG-Face": 0.68, "Facenet": 0.40, "OpenFace": 0.10, "DeepFace": 0.23}
print("| model | pairs | accuracy | FMR | FNMR | threshold |")
print("| --- | --- | --- | --- | --- | --- |")
curves = {}
for model, t in deepface_thresholds.items():
    g = [float(r[f"{model}_cosine"]) for r in pivot if r["decision"] == "Yes"]
    i = [float(r[f"{model}_cosine"]) for r in pivot if r["decision"] == "No"]
    fm = sum(d <= t for d in i); fnm = sum(d > t for d in g)
    acc = (len(i) - fm + len(g) - fnm) / (len(i) + len(g))
    print(f"| DeepFace {model} (cosine) | {len(g)}+{len(i)} | {100*acc:.1f}% | {fm}/{len(i)} ({100*fm/len(i):.1f}%) | {fnm}/{len(g)} ({100*fnm/len(g):.1f}%) | {t} |")
    curves[model] = det(g, i)
fm = sum(d <= DEFAULT for d in imp); fnm = sum(d > DEFAULT for d in gen)
acc = (len(imp) - fm + len(gen) - fnm) / (len(imp) + len(gen))
print(f"| Countersign (Euclidean) | {len(gen)}+{len(imp)} | {100*acc:.1f}% | {fm}/{len(imp)} ({100*fm/len(imp):.1f}%) | {fnm}/{len(gen)} ({100*fnm/len(gen):.1f}%) | {DEFAULT} |")

fig, (a, b) = plt.subplots(1, 2, figsize=(12, 4.5))
bins = [x / 40 for x in range(0, 46)]
a.hist(gen, bins=bins, alpha=0.6, label=f"same person ({len(gen)})", color="tab:green")
a.hist(imp, bins=bins, alpha=0.6, label=f"different people ({len(imp)})", color="tab:red")
a.axvline(DEFAULT, color="k", ls="--", label=f"default threshold {DEFAULT}")
a.set_xlabel("descriptor distance (Euclidean)"); a.set_ylabel("pairs"); a.legend()
a.set_title("Countersign on DeepFace's 520 pairs")
floor = 1e-3
ours = det(gen, imp)
b.plot([max(p[0], floor) for p in ours], [max(p[1], floor) for p in ours], label="Countersign", lw=2)
for model, pts in curves.items():
    b.plot([max(p[0], floor) for p in pts], [max(p[1], floor) for p in pts], label=f"DeepFace {model}", lw=1)
b.set_xscale("log"); b.set_yscale("log"); b.set_xlim(floor * 0.9, 1); b.set_ylim(floor * 0.9, 1)
b.axvline(1e-3, color="grey", ls=":", label="FMR 1/1000 (SP 800-63B)")
b.plot([max(fm / len(imp), floor)], [max(fnm / len(gen), floor)], "ko", label="default (0 FMR drawn at 1e-3)")
b.set_xlabel("FMR (false match rate)"); b.set_ylabel("FNMR (false non-match rate)"); b.legend(fontsize=8)
b.set_title("DET curve (zeros drawn at 1e-3)")
fig.tight_layout(); fig.savefig(out, dpi=110)
print(f"wrote {out}")
