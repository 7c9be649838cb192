"""Search share of voice: each brand's searches among its category's searches (an expression)."""

from __future__ import annotations

import datetime as dt

import ibis


def search_share_table(
    events: ibis.Table, brands: ibis.Table, start: dt.date, end: dt.date
) -> ibis.Table:
    """Search share of voice per brand within its category's searches on ``start .. end``.

    Args:
        events: the canonical events.
        brands: ``brand``, ``category`` of the brands to compare (e.g.
            :func:`aips.engine.penetration.brand_categories`).

    Returns:
        ``category``, ``brand``, ``searches`` (search events attributed to the brand),
        ``brand_term_searches`` (the category's searches whose keyword contains the brand's
        name, case-insensitive: what users typed, whatever brand the row is attributed to),
        ``category_searches`` (search events of the category), ``search_share`` = searches /
        category searches, ``term_share`` = brand_term_searches / category searches.
    """
    ev = events.filter((events.event_type == "search") & events.local_date.between(start, end)
                       & events.category.notnull())
    ev = ev.select("brand", "category", kw=ev.keyword.fill_null("").lower())
    cat_total = ev.group_by("category").aggregate(category_searches=ev.count())
    own = ev.group_by(["category", "brand"]).aggregate(searches=ev.count())
    b = brands.filter(brands.category.notnull()).select(
        b_brand=brands.brand, b_category=brands.category, needle=brands.brand.lower()
    )
    terms = ev.inner_join(b, ev.category == b.b_category)
    terms = terms.filter(terms.kw.contains(terms.needle))
    term_n = terms.group_by([terms.b_category.name("category"), terms.b_brand.name("brand")]).aggregate(
        brand_term_searches=terms.count()
    )
    base = b.select(category=b.b_category, brand=b.b_brand)
    out = base.left_join(own, ["category", "brand"]).select(base.category, base.brand, "searches")
    out = out.left_join(term_n, ["category", "brand"]).select(out.category, out.brand, out.searches, "brand_term_searches")
    out = out.left_join(cat_total, "category").select(
        out.category, out.brand, searches=out.searches.fill_null(0),
        brand_term_searches=out.brand_term_searches.fill_null(0),
        category_searches=cat_total.category_searches.fill_null(0),
    )
    den = ibis.ifelse(out.category_searches > 0, out.category_searches, ibis.null()).cast("float64")
    return out.mutate(search_share=out.searches / den, term_share=out.brand_term_searches / den).order_by(
        [out.category, ibis.desc(out.searches), out.brand]
    )
