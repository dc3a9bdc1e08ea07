"""Builders for realistic commercetools message payloads (shapes from reference/commercetools.md §4)."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "commercetools"

ORDER_ID = "9d8a5b7e-2f0c-4b1e-9a3e-0d6f4a1c2b3d"
PAYMENT_ID = "e57c8183-eb2b-4bf3-acf1-f8a7846689f8"
CREATED_AT = "2024-05-01T10:00:00.000Z"


def message(
    type_: str,
    *,
    resource_type: str = "order",
    resource_id: str | None = None,
    seq: int = 3,
    message_id: str = "msg-1",
    order_number: str | None = "ON-1001",
    **payload: Any,
) -> dict[str, Any]:
    """A message as the Messages API returns it: common fields plus ``payload`` (camelCase keys)."""
    ids: dict[str, Any] = {"orderNumber": order_number} if order_number and resource_type == "order" else {}
    return {
        "id": message_id,
        "version": 1,
        "sequenceNumber": seq,
        "resource": {
            "typeId": resource_type,
            "id": resource_id or (ORDER_ID if resource_type == "order" else PAYMENT_ID),
        },
        "resourceVersion": seq + 1,
        "resourceUserProvidedIdentifiers": ids,
        "type": type_,
        "createdAt": CREATED_AT,
        "lastModifiedAt": CREATED_AT,
        "createdBy": {"clientId": "client", "isPlatformClient": False},
        **payload,
    }


def platform(msg: dict[str, Any], project_key: str = "shop") -> bytes:
    return json.dumps({"notificationType": "Message", "projectKey": project_key, **msg}).encode()


def cloudevent(msg: dict[str, Any], project_key: str = "shop") -> bytes:
    data = {"notificationType": "Message", "projectKey": project_key, **msg}
    resource = msg["resource"]["typeId"]
    return json.dumps(
        {
            "specversion": "1.0",
            "id": msg["id"],
            "type": f"com.commercetools.{resource}.message.{msg['type']}",
            "source": f"/{project_key}/{resource}s",
            "subject": msg["resource"]["id"],
            "time": msg["createdAt"],
            "sequence": str(msg["sequenceNumber"]),
            "sequencetype": "Integer",
            "dataref": f"/{project_key}/messages/{msg['id']}",
            "data": data,
        }
    ).encode()


def pubsub(inner: bytes, message_id: str = "pubsub-42") -> bytes:
    return json.dumps(
        {
            "message": {
                "data": base64.b64encode(inner).decode(),
                "messageId": message_id,
                "message_id": message_id,
                "publishTime": "2024-05-01T10:00:01.000Z",
                "attributes": {},
            },
            "subscription": "projects/p/subscriptions/s",
        }
    ).encode()


def money(cents: int, currency: str = "EUR") -> dict[str, Any]:
    return {"type": "centPrecision", "currencyCode": currency, "centAmount": cents, "fractionDigits": 2}


def tracking(tracking_id: str = "1Z999", carrier: str = "DHL", *, is_return: bool = False) -> dict[str, Any]:
    return {"trackingId": tracking_id, "carrier": carrier, "provider": "dhl", "isReturn": is_return}


def delivery(delivery_id: str = "del-1", parcels: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "id": delivery_id,
        "createdAt": CREATED_AT,
        "items": [{"id": "li-1", "quantity": 2}, {"id": "li-2", "quantity": 1}],
        "parcels": parcels or [],
        "address": {"country": "DE", "firstName": "Erika", "lastName": "Mustermann"},
    }


def parcel(parcel_id: str = "par-1", **track: Any) -> dict[str, Any]:
    return {"id": parcel_id, "createdAt": CREATED_AT, "trackingData": tracking(**track), "items": []}


def return_info(*item_ids: str, tracking_id: str | None = "RT-1") -> dict[str, Any]:
    return {
        "items": [
            {
                "type": "LineItemReturnItem",
                "id": item_id,
                "quantity": 1,
                "lineItemId": "li-1",
                "shipmentState": "Returned",
                "paymentState": "Initial",
                "createdAt": CREATED_AT,
                "lastModifiedAt": CREATED_AT,
            }
            for item_id in item_ids
        ],
        "returnTrackingId": tracking_id,
        "returnDate": CREATED_AT,
    }


def state_ref(state_id: str, key: str | None = None) -> dict[str, Any]:
    ref: dict[str, Any] = {"typeId": "state", "id": state_id}
    if key:
        ref["obj"] = {"id": state_id, "key": key, "type": "OrderState"}
    return ref


def order(order_number: str | None = "ON-1001") -> dict[str, Any]:
    return {
        "id": ORDER_ID,
        "version": 1,
        "orderNumber": order_number,
        "orderState": "Open",
        "shipmentState": "Pending",
        "paymentState": "Pending",
        "customerEmail": "erika@example.com",
        "createdAt": CREATED_AT,
        "lastModifiedAt": CREATED_AT,
        "lineItems": [],
        "totalPrice": money(2498),
    }


def transaction(tx_type: str = "Refund", state: str = "Initial", cents: int = 1299) -> dict[str, Any]:
    return {"id": "tx-1", "timestamp": CREATED_AT, "type": tx_type, "amount": money(cents), "state": state}
