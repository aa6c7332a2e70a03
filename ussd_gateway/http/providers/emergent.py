"""Emergent Technology (Ghana, interpayafrica.com) USSD: Hubtel's JSON format plus ``USERID``.

Request as Hubtel's (``Type``, ``SessionId``, ``Mobile``, ``Message``, ``Operator``,
``ServiceCode``, ``Sequence``) plus ``USERID``, which names the service code; reply as Hubtel's
plus ``MaskNextRoute: true`` whenever the session stays open.

Confirmed from published documentation: nothing. Emergent's USSD documentation is not public;
every detail comes from the source of ``ussd-builder`` 1.3.2 (npm, the most used Node USSD
framework: ``lib/ussd-menu.js``), which reads ``USERID`` as the service code, keeps Hubtel's
``Type``/``Message``/``Mobile``/``SessionId``/``Operator`` and its dial-string-first rule, and
answers ``{Message, Type: Response, MaskNextRoute: true}`` / ``{Message, Type: Release}``; its
README (section "Emergent Support") adds that Emergent sends ``ClientState`` and ``Sequence``
too, and names Emergent's simulator (simussd.interpayafrica.com). Not confirmed, so assumed as
for Hubtel: ``Release``/``Timeout`` notices, ``Sequence`` repeated on a retry (without it a
retry is taken as a new entry), that the extra Hubtel reply fields are ignored, what
``MaskNextRoute`` does (we send it exactly where ussd-builder does).
The code is read from ``USERID`` when it looks like a short code, else from ``ServiceCode``.
"""

from __future__ import annotations

from ussd_gateway.http.providers.hubtel import Dialect

EMERGENT = Dialect("emergent", code_fields=("userid", "servicecode"), mask_next_route=True)
NAME = EMERGENT.name
read_request = EMERGENT.read_request
parse = EMERGENT.parse
render = EMERGENT.render
acknowledge = EMERGENT.acknowledge
