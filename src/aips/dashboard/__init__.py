"""The interactive dashboard (``aips serve``), on Dash (the ``app`` extra).

* :mod:`aips.dashboard.app`: the app (:func:`~aips.dashboard.app.create_app`), built from
  :mod:`aips.dashboard.layout` (the page) and :mod:`aips.dashboard.callbacks` (one group per panel set);
* :mod:`aips.dashboard.service`: cached access to the store's sections and audiences;
* :mod:`aips.dashboard.security`: loopback-only unless a password or token is set;
* :mod:`aips.dashboard.server`: run it (blocking, or in a background thread).
"""
