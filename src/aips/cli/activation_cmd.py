"""``aips audience``, ``aips creators`` and ``aips diagnose``.

``audience`` selects (user, brand) pairs and prints their size per brand; with ``--out`` it
exports the ids (raw or hashed, in packs, with a manifest) and prints the files written.
``creators`` ranks KOL/KOC creators for a target crowd (and a budgeted mix with
``--budget``). ``diagnose`` names the leaking stage of a brand against its category and
attaches the playbook. Each takes ``--format table|csv|json``; JSON is one object.
"""

from __future__ import annotations

from typing import Annotated

import typer

from aips.cli.common import (
    AtOpt,
    BrandOpt,
    BrandsOpt,
    CompetitorsOpt,
    ConfigOpt,
    FlowOpt,
    FormatOpt,
    FromOpt,
    Lang,
    LangOpt,
    OutputFormat,
    StageOpt,
    StoreOpt,
    ToOpt,
    WhereOpt,
    choices,
    crowd_brands,
    emit,
    open_ws,
    print_json,
)
from aips.config.labels import metric_label, note_text, t

IdMethod = choices("IdMethod", "raw", "sha256", "md5")
HexCase = choices("HexCase", "lower", "upper")
Normalize = choices("Normalize", "trim", "lower", "none")
FileFormat = choices("FileFormat", "csv", "txt", "parquet")
SetOn = choices("SetOn", "pair", "user")


# --- aips audience ------------------------------------------------------------------------------


# Over ~80 lines because its Typer signature lists every flag of ``aips audience``; the body is short.
def audience_command(
    brand: BrandsOpt = None,
    at: AtOpt = None,
    stage: StageOpt = None,
    flow: FlowOpt = None,
    t0: FromOpt = None,
    t1: ToOpt = None,
    funnel: Annotated[str | None, typer.Option("--funnel", help="Funnel steps (event types, comma-separated), with --funnel-step.")] = None,
    funnel_step: Annotated[int | None, typer.Option("--funnel-step", help="0-based funnel step whose users to take.")] = None,
    funnel_kind: Annotated[str, typer.Option("--funnel-kind", help="converted (reached the step) or dropped (stopped just before it).")] = "converted",
    funnel_window: Annotated[str, typer.Option("--funnel-window", help="Funnel conversion window: 14d, 12h ...")] = "14d",
    category: Annotated[str | None, typer.Option("--category", help="Every brand of this category (a category's crowd).")] = None,
    competitors: CompetitorsOpt = False,
    attr: Annotated[list[str] | None, typer.Option("--attr", help="String user attribute NAME=VALUE[,VALUE]; repeatable (e.g. gender=F).")] = None,
    where: WhereOpt = None,
    name: Annotated[str | None, typer.Option("--name", help="A name for the audience (files, manifest, overlaps).")] = None,
    spec: Annotated[str | None, typer.Option("--spec", help="Run a saved definition (YAML/JSON) instead of the filter options above; --at re-runs it on that date.")] = None,
    save: Annotated[str | None, typer.Option("--save", help="Save the definition to this YAML/JSON file.")] = None,
    union: Annotated[list[str] | None, typer.Option("--union", help="Union with a saved definition; repeatable.")] = None,
    intersect: Annotated[list[str] | None, typer.Option("--intersect", help="Intersect with a saved definition; repeatable.")] = None,
    minus: Annotated[list[str] | None, typer.Option("--minus", help="Remove a saved definition's members; repeatable.")] = None,
    on: Annotated[SetOn, typer.Option("--on", help="Set operations on (user, brand) pairs or on users.")] = SetOn.pair,
    overlap_with: Annotated[list[str] | None, typer.Option("--overlap", help="Print the Venn cells of this audience and saved definitions; repeatable.")] = None,
    out: Annotated[str | None, typer.Option("--out", help="Export the ids to this file (.csv, .txt or .parquet).")] = None,
    id_method: Annotated[IdMethod, typer.Option("--id", help="Ids raw or hashed (sha256, md5) as ad platforms take them.")] = IdMethod.raw,
    salt: Annotated[str | None, typer.Option("--salt", envvar="AIPS_HASH_SALT", help="Prepended to each id before hashing (or $AIPS_HASH_SALT).")] = None,
    case: Annotated[HexCase, typer.Option("--case", help="Hex digits of hashes.")] = HexCase.lower,
    normalize: Annotated[Normalize, typer.Option("--normalize", help="trim, lower (trim + lower-case) or none, before hashing.")] = Normalize.trim,
    max_size: Annotated[int | None, typer.Option("--max-size", help="At most N ids per file (packs NAME-00001.EXT ...).")] = None,
    file_format: Annotated[FileFormat | None, typer.Option("--file-format", help="csv, txt or parquet (default: from --out's extension).")] = None,
    raw_csv: Annotated[bool, typer.Option("--raw-csv", help="Write CSV ids as they are (by default an id a spreadsheet would run as a formula, =... +... -... @..., gets a leading ').")] = False,
    store: StoreOpt = None,
    config: ConfigOpt = None,
    fmt: FormatOpt = OutputFormat.table,
    lang: LangOpt = Lang.en,
) -> None:
    """Select (user, brand) pairs by stage, flow cell, funnel step, crowd and rules; size or export them.

    Without --stage, --flow or --funnel the pairs at any stage on --at; --at defaults to the
    flow's --to.
    """
    from aips.activation.audiences import Audience, overlap
    from aips.crowd import AudienceSpec

    with open_ws(store, config, read_only=True) as ws:
        if spec is not None:
            audience = Audience.from_spec(ws, spec, at=at)
        else:
            brands, competitors_of = crowd_brands(brand, competitors)
            ws.view.require(at=at, start=t0, end=t1, brands=brands or competitors_of, category=category,
                            names=("t0", "t1"))
            audience = ws.audience(
                brand=brands, at=at, stages=stage or None, flow=flow, t0=t0, t1=t1,
                funnel=funnel, step=funnel_step, kind=funnel_kind, window=funnel_window,
                category=category, competitors_of=competitors_of, attrs=attr, where=where, name=name,
            )
        for op, files in (("union", union), ("intersect", intersect), ("minus", minus)):
            for path in files or []:
                other = Audience.from_spec(ws, AudienceSpec.load(path), at=at)
                audience = getattr(audience, op)(other, on=on.value)
        if name and audience.spec.name != name:
            audience = audience.rename(name)
        if save:
            audience.save(save)
        if overlap_with:
            others = [Audience.from_spec(ws, AudienceSpec.load(p), at=at) for p in overlap_with]
            cells = overlap([audience, *others], on=on.value)
            rows = [{"sets": " & ".join(c["sets"]), "mask": c["mask"], "size": c["size"]} for c in cells]
            if OutputFormat(fmt) is OutputFormat.json:
                print_json(cells)
            else:
                emit(rows, fmt, title=t(f"cli.title.overlap_{on.value}", lang), lang=lang)
            return
        if out is not None:
            manifest = audience.export(
                out, id=id_method.value, salt=salt, case=case.value, max_size=max_size,
                format=file_format.value if file_format else None, normalize=normalize.value,
                raw_csv=raw_csv,
            )
            if OutputFormat(fmt) is OutputFormat.json:
                print_json(manifest)
                return
            c = manifest["counts"]
            emit(manifest["files"], fmt, title=t("cli.title.export", lang, name=audience.name, ids=c["ids"],
                                                 files=c["files"], method=manifest["ids"]["method"]), lang=lang)
            return
        summary = audience.summary()
        if OutputFormat(fmt) is OutputFormat.json:
            print_json({**summary, "spec": audience.spec.to_dict()})
            return
        rows = [*summary["by_brand"], {"brand": t("cli.audience.all_pairs", lang), "users": summary["pairs"]},
                {"brand": t("cli.audience.distinct_users", lang), "users": summary["users"]}]
        name = audience.spec.name or t("cli.audience.unnamed", lang)
        emit(rows, fmt, title=f"{name}: {audience.spec.describe(lang)}", lang=lang)


# --- aips creators -------------------------------------------------------------------------------

_CREATOR_COLUMNS = ["rank", "creator_id", "tier", "target_reach", "seeding_rate", "seeding_lift",
                    "expected_seeded", "new_ti", "fee", "cost_per_new_ti"]
"""Columns of the table view (CSV and JSON have every column)."""


def creators_command(
    brand: BrandsOpt = None,
    target: Annotated[str, typer.Option("--target", help="Target stage(s): TI, I+TI, ... (or a saved audience file).")] = "TI",
    at: AtOpt = None,
    category: Annotated[str | None, typer.Option("--category", help="Target every brand of this category (e.g. a category's I+TI).")] = None,
    competitors: CompetitorsOpt = False,
    lookback: Annotated[int, typer.Option("--lookback", help="Days of creator touches (ending --at).")] = 90,
    k: Annotated[int, typer.Option("--k", help="Days after a touch within which a rise to I/TI counts as seeded.")] = 7,
    budget: Annotated[float | None, typer.Option("--budget", help="Recommend a KOL/KOC mix within this budget (creators' fees).")] = None,
    top: Annotated[int, typer.Option("--top", help="Creators shown, and candidates for the mix.")] = 20,
    attribution: Annotated[str, typer.Option("--attribution", help="Model crediting new TI to creators (markov, last, ...) or none.")] = "markov",
    store: StoreOpt = None,
    config: ConfigOpt = None,
    fmt: FormatOpt = OutputFormat.table,
    lang: LangOpt = Lang.en,
) -> None:
    """Rank KOL/KOC creators by reach into a target crowd and seeding; recommend a mix under a budget."""
    with open_ws(store, config, read_only=True) as ws:
        brands, competitors_of = crowd_brands(brand, competitors)
        ws.view.require(at=at, brands=brands or competitors_of, category=category)
        result = ws.creators(
            target, at=at, brand=brands, category=category, competitors_of=competitors_of,
            lookback=lookback, k=k, budget=budget, top=top,
            attribution=None if attribution.lower() == "none" else attribution,
        )
        result.table = result.table.head(top)
        if OutputFormat(fmt) is OutputFormat.json:
            print_json(result.asdict())
            return
        if OutputFormat(fmt) is OutputFormat.csv:
            emit(result.table, fmt)
            return
        table = result.table[_CREATOR_COLUMNS]
        tg = result.target
        if lang == "en":
            title = t("cli.title.creators", lang, name=tg["name"], definition=tg["definition"], users=tg["users"])
        else:  # the target's name and definition are the ranking's English words: say them from the flags
            whose = ",".join(brands or []) or (t("crowd.competitors_of", lang, brand=competitors_of) if competitors_of
                                              else t("crowd.category", lang, category=category))
            title = t("cli.title.creators_target", lang, target=target, whose=whose, users=tg["users"])
        emit(table, fmt, title=title, lang=lang)
        if len(result.overlap):
            shared = result.overlap.sort_values("shared", ascending=False).head(10)
            emit(shared, fmt, title=t("cli.title.creator_overlap", lang), lang=lang)
        if result.mix is not None:
            s = result.mix_summary()
            emit(result.mix, fmt, title=t("cli.title.mix", lang, **s), lang=lang)
        for note in result.notes:
            typer.echo(t("cli.note", lang, note=note_text(note, lang)))


# --- aips diagnose -------------------------------------------------------------------------------


def diagnose_command(
    brand: BrandOpt,
    at: AtOpt,
    lang: LangOpt = Lang.en,
    period: Annotated[int, typer.Option("--period", help="Days before --at over which stage advances are measured.")] = 90,
    playbook: Annotated[str | None, typer.Option("--playbook", envvar="AIPS_PLAYBOOK", help="A playbook YAML merged over the shipped one.")] = None,
    tolerance: Annotated[float, typer.Option("--tolerance", help="Relative gap below the category median that counts as a leak.")] = 0.2,
    actions: Annotated[bool, typer.Option("--actions/--no-actions", help="Compute next actions (audience, creators, channel).")] = True,
    store: StoreOpt = None,
    config: ConfigOpt = None,
    fmt: FormatOpt = OutputFormat.table,
) -> None:
    """Find a brand's leaking stage against its category, with the evidence, the playbook and next actions."""
    with open_ws(store, config, read_only=True) as ws:
        result = ws.diagnose(brand, at, period=period, lang=str(lang), playbook=playbook,
                             tolerance=tolerance, actions=actions)
        if OutputFormat(fmt) is OutputFormat.json:
            print_json(result.asdict())
            return
        if OutputFormat(fmt) is OutputFormat.csv:
            emit(result.metrics, fmt)
            return
        typer.echo(str(result))
        from aips.config.model import NO_CATEGORY

        category = result.category if result.category is not None else NO_CATEGORY
        lg = str(lang)
        headers = {c: t(f"diag.col.{c}", lg) for c in result.metrics.columns} if lg != "en" else None
        emit(result.metrics, fmt, title=t("diag.title", lg, brand=brand, category=category), lang=lg,
             headers=headers, names={"metric": lambda m: metric_label(m, lg)})
