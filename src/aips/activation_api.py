"""Workspace methods that turn crowd assets into actions: audiences, creators, diagnosis.

:class:`ActivationMixin` holds ``audience``, ``audience_from_spec``, ``overlap``,
``creators`` and ``diagnose``; they use ``self.store``, ``self.model``, ``self.events`` and
the stage engine (``self.snapshot``/``self.timelines`` when present). Per-event work runs in
the backend; Python receives audience sizes, per-creator and per-brand aggregates.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aips.activation.audiences import Audience, overlap
from aips.activation.spec import AudienceSpec, FlowCell, FunnelCell, validated


def _as_list(value: str | Sequence[str] | None) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return list(value)


def _attrs(value: Any) -> dict[str, list[str]] | None:
    """``{"gender": "F"}``, ``["gender=F", "age_band=18-24,25-34"]`` or ``"gender=F"``."""
    if value is None:
        return None
    if isinstance(value, dict):
        return {k: (v if isinstance(v, (list, tuple)) else [v]) for k, v in value.items()}
    from aips.exceptions import ConfigError

    items = [value] if isinstance(value, str) else list(value)
    out: dict[str, list[str]] = {}
    for item in items:
        if "=" not in item:
            raise ConfigError(f"bad attribute filter {item!r}: NAME=VALUE[,VALUE...] (e.g. gender=F)")
        name, values = item.split("=", 1)
        out.setdefault(name.strip(), []).extend(v.strip() for v in values.split(",") if v.strip())
    return out


class ActivationMixin:
    """Audiences, KOL/KOC matching and the stage diagnosis with its playbook."""

    # --- audiences -------------------------------------------------------------------------------

    def audience(
        self,
        brand: str | Sequence[str] | None = None,
        at: Any = None,
        stages: str | Sequence[str] | None = None,
        *,
        flow: str | FlowCell | None = None,
        t0: Any = None,
        t1: Any = None,
        funnel: Sequence[str] | str | None = None,
        step: int | None = None,
        kind: str = "converted",
        window: str = "14d",
        order: str = "ordered",
        funnel_start: Any = None,
        funnel_end: Any = None,
        category: str | None = None,
        competitors_of: str | None = None,
        attrs: Any = None,
        where: str | None = None,
        name: str | None = None,
    ) -> Audience:
        """Select (user, brand) pairs; returns an :class:`~aips.activation.audiences.Audience`.

        Filters combine with AND (see :mod:`aips.activation.spec`).

        Args:
            brand: a brand or several (comma-separated or a list); default every brand.
            at: the as-of local date (default: ``t1`` of the flow).
            stages: exclusive level(s) on ``at``: ``"TI"``, ``"I,TI"``, ``"I+TI"`` or a list.
            flow: a flow cell ``FROM:TO`` between ``t0`` and ``t1`` (default ``at``), e.g.
                ``"TI:!P"`` (TI at t0 and not P at t1); ``none`` = no level, ``*`` = any.
            funnel, step, kind, window, order, funnel_start, funnel_end: a funnel over event
                types (``["read", "collect", "purchase"]``) and the users who reached
                ``step`` (``kind="converted"``) or stopped just before it (``"dropped"``);
                needs exactly one brand.
            category: every brand of this category (a category's crowd).
            competitors_of: the other brands of this brand's category (a competitor's crowd).
            attrs: string user attributes: ``{"gender": "F"}`` or ``["gender=F"]``.
            where: a rule over counters (summed over each counter's window ending ``at``)
                and numeric user attributes: ``"read >= 3 and purchase == 0"``.
            name: a name for exports, overlaps and saved specs.
        """
        if isinstance(flow, str):
            if t0 is None or (t1 is None and at is None):
                from aips.exceptions import ConfigError

                raise ConfigError(f"the flow cell {flow!r} needs t0 (--from) and t1 (--to, or --at)")
            flow = FlowCell.parse(flow, t0, t1 if t1 is not None else at)
        funnel_cell = None
        if funnel is not None:
            from aips.exceptions import ConfigError

            steps = _as_list(funnel)
            if step is None:
                raise ConfigError("a funnel audience needs a step (0-based index of the step)")
            funnel_cell = validated(FunnelCell, dict(
                steps=steps, step=step, kind=kind, window=window, order=order,
                start=funnel_start, end=funnel_end), "funnel")
        spec = AudienceSpec.from_data(dict(
            name=name, at=at, brands=_as_list(brand), category=category,
            competitors_of=competitors_of, stages=stages, flow=flow, funnel=funnel_cell,
            attrs=_attrs(attrs), where=where,
        ), "audience")
        return Audience(self, spec)

    def audience_from_spec(self, spec: AudienceSpec | dict | str, at: Any = None) -> Audience:
        """Re-run a saved definition (spec, dict or YAML/JSON path), optionally on a new date."""
        return Audience.from_spec(self, spec, at=at)

    def overlap(self, audiences: Sequence[Audience], on: str = "user") -> list[dict]:
        """Venn cells of 2-8 audiences (see :func:`aips.activation.audiences.overlap`)."""
        return overlap(audiences, on=on)

    # --- creators ------------------------------------------------------------------------------------

    def creators(
        self,
        target: Any = "TI",
        at: Any = None,
        *,
        brand: str | Sequence[str] | None = None,
        category: str | None = None,
        competitors_of: str | None = None,
        lookback: int = 90,
        k: int = 7,
        budget: float | None = None,
        top: int = 20,
        attribution: str | None = "markov",
        min_touches: int = 30,
    ):
        """Rank KOL/KOC creators for a target crowd; see :mod:`aips.activation.creators`.

        Args:
            target: an :class:`Audience`, an :class:`AudienceSpec`, or stage(s) (``"TI"``,
                ``"I+TI"``) of ``brand`` / ``category`` / ``competitors_of``'s crowd on ``at``.
            at: the as-of local date.
            lookback: days of creator touches considered (ending ``at``).
            k: days after a touch within which a stage advance counts as seeded.
            budget: recommend a creator mix within this budget (needs creators' fees).
            top: creators in the overlap matrix and candidates for the mix.
            attribution: the model crediting new TI to creators (``None`` to skip).
            min_touches: creators with fewer eligible touches get no seeding lift (too noisy).

        Returns:
            A :class:`~aips.activation.creators.CreatorRanking`.
        """
        from aips.activation.creators import rank_creators

        audience = self._target_audience(target, at, brand, category, competitors_of)
        return rank_creators(self, audience, lookback=lookback, k=k, budget=budget, top=top,
                             attribution=attribution, min_touches=min_touches)

    def _target_audience(self, target, at, brand, category, competitors_of) -> Audience:
        if isinstance(target, Audience):
            return target
        if isinstance(target, (AudienceSpec, dict)) or (isinstance(target, str) and target.endswith((".yaml", ".yml", ".json"))):
            return Audience.from_spec(self, target, at=at)
        return self.audience(brand=brand, at=at, stages=target, category=category,
                             competitors_of=competitors_of, name=f"target {target}")

    # --- diagnosis -------------------------------------------------------------------------------------

    def diagnose(
        self,
        brand: str,
        at: Any,
        *,
        period: int = 90,
        lang: str = "en",
        playbook: Any = None,
        tolerance: float = 0.2,
        alpha: float = 0.05,
        min_base: int = 30,
        actions: bool = True,
    ):
        """Diagnose a brand's funnel on ``at`` against its category; attach the playbook.

        See :mod:`aips.activation.diagnose` for the metrics and the leak rule.

        Args:
            brand: the brand.
            at: the local date; flows run from ``at - period`` to ``at``.
            period: days between the two snapshots of the flow rates.
            lang: ``en`` or ``zh`` for texts.
            playbook: a playbook YAML path overriding the shipped one (or a loaded Playbook).
            tolerance: a stage leaks when its flow rate is at least this far below the
                category median (relative: 0.2 = 20 % lower) ...
            alpha: ... and the gap is significant (one-sided two-proportion z-test).
            min_base: ... and the brand had at least this many pairs in the stage at t0.
            actions: compute the next actions (audience size, creators, best channel).

        Returns:
            A :class:`~aips.activation.diagnose.Diagnosis`.
        """
        from aips.activation.diagnose import diagnose

        return diagnose(self, brand, at, period=period, lang=lang, playbook=playbook,
                        tolerance=tolerance, alpha=alpha, min_base=min_base, actions=actions)
