"""Cross-Switch (Ghana) USSD: Emergent's format (Hubtel's JSON plus ``USERID``), unchanged.

Confirmed from published documentation: nothing; Cross-Switch publishes no USSD documentation
we could find. ``ussd-builder`` 1.3.2 (npm, ``lib/ussd-menu.js``) reads and writes it exactly
as Emergent's (``USERID`` as the service code, ``MaskNextRoute: true`` on replies that keep the
session open), so everything said in ``emergent.py`` holds, with the same gaps.
"""

from __future__ import annotations

from ussd_gateway.http.providers.hubtel import Dialect

CROSS_SWITCH = Dialect("cross-switch", code_fields=("userid", "servicecode"), mask_next_route=True)
NAME = CROSS_SWITCH.name
read_request = CROSS_SWITCH.read_request
parse = CROSS_SWITCH.parse
render = CROSS_SWITCH.render
acknowledge = CROSS_SWITCH.acknowledge
