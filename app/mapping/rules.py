"""ViewRules: the validated mapping files plus the lookup indexes normalization needs.

Built once at start-up from :class:`~app.mapping.loader.Mappings`, so per-request normalization
does dictionary look-ups only.
"""

from __future__ import annotations

from urllib.parse import quote

import msgspec

from app.mapping.loader import Mappings
from app.mapping.schema import CarrierRule, FieldRule, MarketsFile

__all__ = ["ViewRules"]


class ViewRules(msgspec.Struct, frozen=True, kw_only=True):
    markets: MarketsFile
    carriers_by_name: dict[str, CarrierRule]
    order_fields: dict[str, FieldRule]
    customer_fields: dict[str, FieldRule]

    @classmethod
    def from_mappings(cls, mappings: Mappings) -> ViewRules:
        carriers: dict[str, CarrierRule] = {}
        for name, rule in mappings.carriers.carriers.items():
            for spelling in (name, *rule.aliases):
                carriers[spelling.casefold()] = rule
        return cls(
            markets=mappings.markets,
            carriers_by_name=carriers,
            order_fields=mappings.custom_fields.order,
            customer_fields=mappings.custom_fields.customer,
        )

    def tracking_url(self, carrier: str | None, tracking_id: str | None) -> str | None:
        if not carrier or not tracking_id:
            return None
        rule = self.carriers_by_name.get(carrier.strip().casefold())
        if rule is None:
            return None
        return rule.tracking_url.replace("{trackingId}", quote(tracking_id, safe=""))
