"""report.md with a metrics table, charts and the failed questions."""

from __future__ import annotations

from pathlib import Path

TABLE_METRICS = ["hit@1", "hit@3", "mrr", "accuracy", "accuracy_zh", "accuracy_en", "accuracy_multi_turn",
                 "accuracy_multi", "accuracy_list", "item_recall", "all_items",
                 "refusal_accuracy", "false_refusal_rate", "offset_validity", "citation_recall",
                 "citation_precision", "parts_cited", "repeated_citation_rate", "faithfulness",
                 "p50_total_ms", "p95_total_ms"]
# printed by `rag eval`, one table per dataset
CONSOLE_METRICS = ["hit@3", "accuracy", "accuracy_zh", "accuracy_en", "refusal_accuracy", "false_refusal_rate",
                   "citation_precision", "item_recall", "all_items", "p50_total_ms"]
CHART_METRICS = ["hit@3", "mrr", "accuracy", "refusal_accuracy", "citation_precision", "faithfulness"]


def fmt(value) -> str:
    if value is None:
        return "–"
    return f"{value:.0f}" if isinstance(value, float) and value > 1.5 else f"{value:.3f}" if isinstance(value, float) else str(value)


def table(summary: dict[str, dict], metrics: list[str] = TABLE_METRICS) -> str:
    lines = ["| config | " + " | ".join(metrics) + " |", "|---" * (len(metrics) + 1) + "|"]
    for config, values in summary.items():
        lines.append(f"| {config} | " + " | ".join(fmt(values.get(m)) for m in metrics) + " |")
    return "\n".join(lines)


def charts(out: Path, summary: dict[str, dict[str, dict]], by_dataset: dict[str, dict[str, list[dict]]]) -> list[str]:
    """metrics.png: one panel per dataset; latency.png: one box per dataset and config."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    datasets = list(summary)
    fig, axes = plt.subplots(len(datasets), 1, figsize=(10, 3.6 * len(datasets)), squeeze=False)
    for ax, dataset in zip(axes[:, 0], datasets):
        names = list(summary[dataset])
        width = 0.8 / max(len(names), 1)
        x = np.arange(len(CHART_METRICS))
        for i, name in enumerate(names):
            vals = [summary[dataset][name].get(m) or 0 for m in CHART_METRICS]
            bars = ax.bar(x + i * width, vals, width, label=name)
            ax.bar_label(bars, fmt="%.2f", fontsize=7)
        ax.set_xticks(x + width * (len(names) - 1) / 2, CHART_METRICS)
        ax.set_ylim(0, 1.15)
        ax.set_title(f"{dataset}: main metrics per configuration (higher is better)")
        ax.legend(fontsize=8, loc="upper right", ncol=len(names), frameon=False)
    fig.tight_layout()
    fig.savefig(out / "metrics.png", dpi=100)
    plt.close(fig)

    flat = {f"{d} · {c}": results for d, configs in by_dataset.items() for c, results in configs.items()}
    names = list(flat)
    fig, ax = plt.subplots(figsize=(10, 1.5 + 0.35 * len(names)))
    data = [[r["timings_ms"].get("total", 0) for r in flat[n] if "timings_ms" in r] or [0] for n in names]
    ax.boxplot(data, vert=False, showfliers=True)
    ax.set_yticks(range(1, len(names) + 1), names)
    ax.set_xscale("log")
    ax.set_xlabel("total latency per question (ms, log scale)")
    ax.set_title("Latency distribution")
    fig.tight_layout()
    fig.savefig(out / "latency.png", dpi=100)
    plt.close(fig)
    return ["metrics.png", "latency.png"]


def write_report(out: Path, summary: dict[str, dict[str, dict]], by_dataset: dict[str, dict[str, list[dict]]],
                 meta: dict) -> None:
    images = charts(out, summary, by_dataset)
    parts = [f"# Evaluation report\n\n{meta.get('when', '')} · datasets: {', '.join(meta.get('datasets', []))} · "
             f"target: {meta.get('target', 'in-process')}\n"]
    for dataset, configs in summary.items():
        parts += [f"\n## {dataset}\n", table(configs), ""]
    parts += [f"![{name}]({name})" for name in images]
    for dataset, by_config in by_dataset.items():
        for config, results in by_config.items():
            wrong = [r for r in results if not r.get("correct", False)]
            if not wrong:
                continue
            parts.append(f"\n## Misses: {dataset} · {config} ({len(wrong)})\n")
            for r in wrong[:40]:
                what = "error: " + r["error"] if "error" in r else ("should refuse" if r["unanswerable"] else
                                                                   "refused" if r["refused"] else "wrong")
                parts.append(f"- `{r['row']}`#{r['turn']} ({what}) {r.get('question', '')} → {r.get('answer', '')[:80]}")
    (out / "report.md").write_text("\n".join(parts) + "\n", encoding="utf-8")
