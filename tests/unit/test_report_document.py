"""The report's document model: findings first, collapsed appendix, numbered figures and tables, compact PNGs."""

from __future__ import annotations

import io

import matplotlib.pyplot as plt
import numpy as np
from PIL import Image

from annstudy.params.settings import settings_from_raw
from annstudy.report.claims import Arm
from annstudy.report.comparisons import compare
from annstudy.report.document import Callout, Contents, Details, Document, Figure, Heading, Paragraph, Table
from annstudy.report.fidelity import deviations, deviations_blocks
from annstudy.report.html_page import compact_png, to_html
from annstudy.report.markdown import to_markdown
from annstudy.report.render import as_sentence, findings_block, reproduce, summary
from annstudy.report.section import Finding, StudySection
from annstudy.report.units import accuracy_spread, percent, percent_interval, plural, points, points_interval


def plot(path) -> None:
    fig, ax = plt.subplots(figsize=(6, 4))
    for k in range(5):
        ax.plot(range(50), [(i * (k + 1)) % 17 for i in range(50)], label=str(k))
    ax.legend()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def section() -> StudySection:
    claim = compare("a beats b", Arm("a", (0.9, 0.91, 0.92), "2 epochs"), Arm("b", (0.8, 0.81, 0.82), "1 epoch"))
    finding = Finding("Which is better?", claim, "+10.0 points")
    seconds = {"architectures@a (train)": 1.0, "architectures@b (train)": 2.0}
    return StudySection("s1", [Heading("S1 Thing")], {"a": 1}, seconds, [], [finding])


def test_findings_are_quotable_sentences_linked_to_their_section_and_coloured_by_status(tmp_path):
    block = findings_block([section()])
    [card] = block.cards
    assert (card.study, card.question, card.answer, card.key) == (
        "S1 Thing",
        "Which is better?",
        "A beats b.",
        "+10.0 points",
    )
    assert (card.n, card.budget, card.status, card.href) == ("3", "2 epochs vs 1 epoch", "confounded", "#s1-thing")
    md = to_markdown(Document("t", [block]))
    assert (
        "| [S1 Thing](#s1-thing) | Which is better? | A beats b. | +10.0 points | 3 | 2 epochs vs 1 epoch | "
        "**confounded** |" in md
    )
    html = to_html(Document("t", [Heading("S1 Thing"), block]), tmp_path)
    assert '<li class="finding status-confounded" id="finding-1">' in html
    assert '<span class="status status-confounded">confounded</span>' in html and 'href="#s1-thing"' in html
    for status in ("supported", "equivalent", "inconclusive", "confounded", "did-not-train"):
        assert html.count(f".status-{status}{{--status:") == 2  # a light and a dark-mode colour each
    assert as_sentence("cnn_4 relu ends above") == "cnn_4 relu ends above."  # never "Cnn_4"
    assert as_sentence("the CNN wins") == "The CNN wins." and as_sentence("Done.") == "Done."


def test_summary_counts_statuses_and_quotes_what_holds():
    held = compare("a beats b", Arm("a", (0.9, 0.91, 0.92), "1 epoch"), Arm("b", (0.8, 0.81, 0.82), "1 epoch"))
    open_ = compare("c beats d", Arm("c", (0.8, 0.9, 0.7), "1 epoch"), Arm("d", (0.81, 0.7, 0.9), "1 epoch"))
    two = StudySection("s2", [Heading("S2 Other")], {}, {}, [], [Finding("q1", held, ""), Finding("q2", open_, "")])
    text = summary([section(), two]).text
    assert text == (
        "**In short.** 3 findings: 1 *supported*, 1 *inconclusive*, 1 *confounded*. What the data support: "
        "S2: a beats b. The other 2 are open questions at this budget or rest on runs that did not train; each "
        "card says why."
    )


def test_deviations_list_every_setting_the_profile_changes_from_full(params):
    quick = {(d.study, d.setting): (d.value, d.faithful) for d in deviations(settings_from_raw(params))}
    assert quick[("activations", "epochs")] == ("1", "15")
    assert quick[("activations", "log_every")] == ("50", "10")
    assert quick[("activations", "seeds")] == ("3 seeds (0, 1, 2)", "10 seeds (0–9)")
    assert quick[("spiral", "seeds")] == ("2 seeds (0, 1)", "10 seeds (0–9)")
    assert quick[("spiral", "max_epochs")] == ("300", "500")
    assert quick[("architectures", "val_subset")] == ("1,000", "0")
    assert ("activations", "val_subset") not in quick  # 1,000 in both profiles: no deviation
    assert quick[("activations", "train_limit")][1] == "0"  # quick trains S1-S3 on a stratified subset
    assert ("from_scratch", "train_limit") not in quick  # all images in both profiles: no deviation
    params["profile"] = "full"
    assert deviations(settings_from_raw(params)) == []
    assert deviations_blocks(settings_from_raw(params))[1].text.startswith("None: every setting")
    params["studies"]["activations"]["epochs"] = 3  # an explicit override of a faithful value is a deviation too
    assert [(d.study, d.setting, d.value, d.faithful) for d in deviations(settings_from_raw(params))] == [
        ("activations", "epochs", "3", "15")
    ]


def test_percent_and_plural_helpers():
    assert percent(0.84283) == "84.3 %" and percent(float("nan")) == "—" and percent(1.0) == "100.0 %"
    assert points(0.0851) == "+8.5 points" and points(-0.692) == "-69.2 points"
    assert percent_interval(0.8127, 0.873) == "[81.3, 87.3]" and points_interval(0.061, 0.109) == "[+6.1, +10.9]"
    assert accuracy_spread([0.8428, 0.8549, 0.8307]) == "84.3 % ± 1.2" and accuracy_spread([0.5]) == "50.0 %"
    assert (
        plural(1, "epoch") == "1 epoch" and plural(15, "epoch") == "15 epochs" and plural(1080, "step") == "1,080 steps"
    )
    assert plural(2, "series") == "2 series" and plural(0, "seed") == "0 seeds"


def test_reproduce_line():
    assert (
        reproduce(section()).text
        == "*Reproduce:* `dvc repro architectures report` · *metrics:* `reports/metrics.json` → `s1`: `a`"
    )


def test_html_collapses_the_appendix_and_numbers_figures_and_tables(tmp_path):
    plot(tmp_path / "f.png")
    doc = Document("t")
    doc.add(
        Heading("Key findings"),
        Callout("profile too small"),
        Table(["x"], [["1"]], caption="first"),
        Contents(),
        Heading("S1"),
        Figure(tmp_path.joinpath("f.png").relative_to(tmp_path), "a plot"),
        Heading("Appendix"),
        Details("Run details", [Heading("Run", 3), Table(["k"], [["v"]], caption="second"), Paragraph("p")]),
    )
    html = to_html(doc, tmp_path)
    assert html.index('<div class="banner"') < html.index("<nav>") < html.index('id="s1"')
    assert "<details><summary>Run details</summary>" in html and html.count("</details>") == 2  # and the contents
    toc = html[html.index('<details class="toc">') : html.index("</details>")]
    assert toc.count("<li>") == 4 and '<a href="#run">Run</a>' in toc  # subsections listed under their section
    assert 'id="table-1"' in html and 'id="table-2"' in html and 'id="figure-1"' in html
    assert '<a class="anchor" href="#figure-1">Figure 1.</a> a plot' in html
    assert "prefers-color-scheme:dark" in html and html.count("data:image/png;base64,") == 1
    md = to_markdown(doc)
    assert "> **Note.** profile too small" in md and "**Run details**" in md
    assert md.index("- [Appendix](#appendix)") > md.index("*first*")  # the contents follow the findings


def test_repeated_headings_get_unique_anchors(tmp_path):
    doc = Document("t", [Heading("S1"), Heading("Is A better?", 3), Heading("S2"), Heading("Is A better?", 3)])
    html = to_html(doc, tmp_path)
    assert 'id="is-a-better"' in html and 'id="is-a-better-2"' in html and 'href="#is-a-better-2"' in html


def test_compact_png_is_smaller_and_keeps_the_picture(tmp_path):
    plot(tmp_path / "f.png")
    raw = (tmp_path / "f.png").read_bytes()
    small = compact_png(raw)
    assert len(small) < len(raw)
    a = np.asarray(Image.open(io.BytesIO(raw)).convert("RGB"), dtype=float)
    b = np.asarray(Image.open(io.BytesIO(small)).convert("RGB"), dtype=float)
    assert a.shape == b.shape == (400, 600, 3)
    assert np.abs(a - b).mean() < 2.0  # mean absolute error per channel, out of 255


def test_forest_plot_draws_one_row_per_result(tmp_path):
    from annstudy.report.figures import DPI, ForestRow, forest_plot

    rows = [
        ForestRow("a (2 epochs)", 0.84, (0.83, 0.85), (0.832, 0.847), (0.87, 0.88)),
        ForestRow("b (1 epoch)", 0.88, (0.87, 0.89), (0.873, 0.886), (0.85, 0.85)),
    ]
    path = forest_plot(rows, tmp_path / "forest.png", "t")
    image = Image.open(path)
    inches = (image.size[0] / DPI, image.size[1] / DPI)  # at least a 7.5 x 2-inch figure
    assert inches[0] > 7.5 and inches[1] > 2.0 and path.stat().st_size > 10_000


def test_forest_row_uses_the_range_for_two_seeds_and_mnist1d_reads_its_tolerance_band(tmp_path):
    """n <= 2: the seed interval is the range of the values; the MNIST-1D caption places each model against
    published ± tolerance (reproduced, below), and the figure is written."""
    from annstudy.report.figures import forest_row
    from annstudy.report.stats import Accuracy
    from annstudy.studies.mnist1d.report import forest_figure

    acc = Accuracy((0.60, 0.66), 1000)
    row = forest_row("mlp", acc, (0.63, 0.73))
    assert row.seed == (0.60, 0.66) and abs(row.mean - 0.63) < 1e-12 and row.sampling[0] < 0.63 < row.sampling[1]
    accs = {"mlp": acc, "cnn": Accuracy((0.93, 0.95, 0.94), 1000)}
    fig = forest_figure(accs, {"mlp": 0.68, "cnn": 0.94}, 0.03, "30 epochs", tmp_path / "f.png", tmp_path)
    assert "mlp 63.0 %: below; cnn 94.0 %: reproduced." in fig.caption  # report/literature.py's verdicts
    assert Image.open(tmp_path / fig.path).size[1] > 200
