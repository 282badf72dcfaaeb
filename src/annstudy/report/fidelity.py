"""How faithful a run is to docs/studies.md: the banner that says what its profile cuts, and the
"Deviations from studies.md" table, both computed from the settings against the faithful ``full``
profile, never written by hand (the report's top, report/render.py)."""

from __future__ import annotations

from dataclasses import dataclass

from annstudy.params.schema import profile_keys
from annstudy.params.settings import Settings
from annstudy.report.claims import Status
from annstudy.report.document import Callout, Heading, Paragraph, Table
from annstudy.report.section import StudySection
from annstudy.report.units import plural

FAITHFUL_PROFILE = "full"  # the profile with the settings of studies.md


def banner(settings: Settings, sections: list[StudySection]) -> Callout | None:
    """Say up front when the run cannot support the studies' conclusions (small profile, weak claims)."""
    statuses = [f.claim.status for s in sections for f in s.findings]
    weak = sum(1 for st in statuses if st is not Status.SUPPORTED)
    if settings.profile == FAITHFUL_PROFILE and not weak:
        return None
    seeds = len(settings.profile_seeds)
    full = settings.profiles.get(FAITHFUL_PROFILE)
    full_seeds = len(full.seeds or ()) if full is not None else 0
    if settings.profile == FAITHFUL_PROFILE:
        size = ""
    elif _stopping(settings):
        size = (
            f"Profile **{settings.profile}** trains S1–S3 to a validation plateau under one early-stopping rule "
            f"({_stopping(settings)}): a seed stops once its full-validation loss has not fallen for that many "
            "epochs and is evaluated at its best epoch, so arms stopped by the rule under one maximum are matched "
            f"budgets. It trains {seeds} seeds (the faithful `{FAITHFUL_PROFILE}` profile: {full_seeds}, at fixed "
            f"epochs){_cut(settings)} (every setting it changes: *Deviations from studies.md* below). "
        )
    else:
        size = (
            f"Profile **{settings.profile}** is a demonstration of the pipeline, not the study's answers: it trains "
            f"{seeds} seeds (the faithful `{FAITHFUL_PROFILE}` profile: {full_seeds}){_cut(settings)} for a "
            "fraction of the epochs, so the networks have not converged and its numbers cannot settle the studies' "
            "questions (every setting it changes: *Deviations from studies.md* below). "
        )
    return Callout(
        f"{size}{weak} of the {len(statuses)} findings below are not *supported*; read each with its status."
    )


IMAGE_STUDIES = {"architectures": "S1", "activations": "S2", "learning_rates": "S3"}  # the studies on S1's images


def _image_studies(settings: Settings) -> dict[str, object]:
    """S1-S3's settings by label (``S1`` ...), those of the run only."""
    names = type(settings.studies).model_fields
    return {label: settings.studies[study] for study, label in IMAGE_STUDIES.items() if study in names}


def _stopping(settings: Settings) -> str:
    """S1-S3's early-stopping rule in words (``patience 3; at most 20 epochs for S1, 15 for S2``), '' when none
    stops early. The most epochs of S3 is its longest variant's."""
    stopping = {
        label: (config.stop_patience, max(getattr(config, k, 0) for k in ("epochs", "schedule_epochs", "adam_epochs")))
        for label, config in _image_studies(settings).items()
        if getattr(config, "stop_patience", 0) > 0
    }
    if not stopping:
        return ""
    patiences = {p for p, _ in stopping.values()}
    if len(patiences) > 1:
        return "; ".join(f"{label}: patience {p}, at most {n} epochs" for label, (p, n) in stopping.items())
    most = [f"{n} for {label}" for label, (_, n) in stopping.items()]
    return f"patience {patiences.pop()}; at most {most[0].replace(' for', ' epochs for', 1)}" + "".join(
        f", {m}" for m in most[1:]
    )


def _cut(settings: Settings) -> str:
    """', S2 and S3 on a stratified subset of 20,000 training images' when the profile trains S1-S3 on a subset."""
    sizes: dict[int, list[str]] = {}
    for label, config in _image_studies(settings).items():
        n = getattr(config, "train_limit", 0)
        if n and n > 0:
            sizes.setdefault(n, []).append(label)
    cut = [f"{' and '.join(labels)} on {n:,}" for n, labels in sizes.items()]
    return f", {', '.join(cut)} stratified training images" if cut else ""


@dataclass(frozen=True)
class Deviation:
    """One setting of this run that differs from the faithful ``full`` profile (studies.md's settings)."""

    study: str
    setting: str
    value: str
    faithful: str


def _shown(value) -> str:
    """A setting's value for the deviations table: seeds counted, numbers with thousands separators."""
    if isinstance(value, (tuple, list)):
        if not value:
            return "none"
        run = len(value) > 3 and list(value) == list(range(value[0], value[0] + len(value)))
        listed = f"{value[0]}–{value[-1]}" if run else ", ".join(map(str, value))
        return f"{plural(len(value), 'seed')} ({listed})"
    if isinstance(value, bool) or value is None:
        return str(value)
    return f"{value:,}" if isinstance(value, int) else str(value)


def _faithful(full, study: str, key: str) -> tuple[bool, object]:
    """(found, value) the ``full`` profile gives ``studies.<study>.<key>``: the study's own entry, else the seeds."""
    section = getattr(full, study, None)
    if section is not None and key in section.model_fields_set:
        return True, getattr(section, key)
    if key == "seeds" and full.seeds is not None:
        return True, full.seeds
    return False, None


def _comparable(value):
    return tuple(value) if isinstance(value, (list, tuple)) else value


def deviations(settings: Settings) -> list[Deviation]:
    """Every profile-supplied study setting whose effective value differs from the ``full`` profile's.

    Computed from the settings, never written by hand: the profile's cuts (seeds, epochs, logging,
    evaluation subsets) and any explicit override of a key the faithful profile sets both show.
    """
    full = settings.profiles.get(FAITHFUL_PROFILE)
    if full is None:
        return []
    found = []
    for study in type(settings.studies).model_fields:
        config = settings.studies[study]
        for key in profile_keys(type(config)):
            known, faithful = _faithful(full, study, key)
            value = getattr(config, key)
            if known and _comparable(value) != _comparable(faithful):
                found.append(Deviation(study, key, _shown(value), _shown(faithful)))
    return found


def deviations_blocks(settings: Settings) -> list:
    """The "Deviations from studies.md" part: a table of :func:`deviations`, or a sentence saying there are none."""
    rows = deviations(settings)
    blocks: list = [Heading("Deviations from studies.md")]
    if not rows:
        return blocks + [
            Paragraph(f"None: every setting a profile supplies equals the faithful `{FAITHFUL_PROFILE}` profile's.")
        ]
    return blocks + [
        Table(
            ["study", "setting", f"this run (profile {settings.profile})", f"studies.md (`{FAITHFUL_PROFILE}`)"],
            [[d.study, f"`{d.setting}`", d.value, d.faithful] for d in rows],
            caption=f"Every study setting of this run that differs from the faithful `{FAITHFUL_PROFILE}` profile "
            "(studies.md's settings), computed from params.yaml. A subset or limit of 0 means all of the data.",
        )
    ]
