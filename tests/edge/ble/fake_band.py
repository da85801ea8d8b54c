"""A band on the far side of bleak: a custom bleak backend (bleak's own BaseBleakClient
interface), so the bridge drives a real ``BleakClient`` and only the radio is stood in for.

The band answers like the published services do: Heart Rate Measurement and Battery Level
notify, the Polar PMD control point answers commands with indications.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from bleak import BleakClient
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient, NotifyCallback
from bleak.backends.descriptor import BleakGATTDescriptor
from bleak.backends.service import BleakGATTService, BleakGATTServiceCollection
from bleak.exc import BleakError

from edge.ble import polar_pmd as pmd
from edge.ble.heart_rate import (
    BATTERY_LEVEL,
    BATTERY_SERVICE,
    HEART_RATE_MEASUREMENT,
    HEART_RATE_SERVICE,
)
from tests.edge.ble import pmd_frames as f


class Band:
    """The peripheral: what it offers, what it was asked, and a way to make it talk."""

    def __init__(
        self,
        *,
        battery: int | None = 87,
        battery_notifies: bool = True,
        acc_settings: dict[int, list[int | float]] | None = None,
        factor: float | None = None,
        refuse_connects: int = 0,
        acc_running: bool = False,
        battery_readable: bool = True,
    ) -> None:
        self.battery = battery
        self.battery_notifies = battery_notifies
        self.acc_settings = acc_settings
        self.factor = factor
        self.refuse_connects = refuse_connects
        self.acc_running = acc_running  # a stream left on by an earlier connection
        self.battery_readable = battery_readable
        self.connects = 0
        self.commands: list[bytes] = []
        self.callbacks: dict[str, NotifyCallback] = {}
        self.backend: BaseBleakClient | None = None
        self.loop: asyncio.AbstractEventLoop | None = None

    def services(self) -> BleakGATTServiceCollection:
        """The GATT table the band exposes."""
        coll = BleakGATTServiceCollection()
        handle = iter(range(1, 100))

        def service(uuid: str, chars: list[tuple[str, list[str]]]) -> None:
            svc = BleakGATTService(None, next(handle), uuid)
            coll.add_service(svc)
            for cuuid, props in chars:
                char = BleakGATTCharacteristic(None, next(handle), cuuid, props, lambda: 20, svc)  # type: ignore[arg-type]
                coll.add_characteristic(char)

        service(HEART_RATE_SERVICE, [(HEART_RATE_MEASUREMENT, ["notify"])])
        if self.battery is not None:
            props = ["read", "notify"] if self.battery_notifies else ["read"]
            service(BATTERY_SERVICE, [(BATTERY_LEVEL, props)])
        if self.acc_settings is not None:
            service(
                pmd.PMD_SERVICE,
                [(pmd.PMD_CONTROL, ["read", "write", "indicate"]), (pmd.PMD_DATA, ["notify"])],
            )
        return coll

    def notify(self, uuid: str, data: bytes) -> None:
        """The band sends a notification on ``uuid``."""
        self.callbacks[uuid](bytearray(data))

    def drop(self) -> None:
        """The radio link breaks (out of range, battery out)."""
        backend = self.backend
        assert backend is not None
        assert isinstance(backend, _Backend)
        backend.connected = False
        self.callbacks.clear()
        if backend.on_lost is not None:
            backend.on_lost()

    def answer(self, data: bytes) -> bytes | None:
        """The control point's indication for a command written to it."""
        self.commands.append(data)
        op, kind = data[0], data[1]
        if kind != f.ACC:
            return f.response(op, kind, status=2)
        if op == 1:
            assert self.acc_settings is not None
            return f.response(1, kind, params=f.settings(self.acc_settings))
        if op == 2:
            if self.acc_running:
                return f.response(2, kind, status=6)  # already in state
            self.acc_running = True
            params = f.settings({5: [self.factor]}) if self.factor is not None else b""
            return f.response(2, kind, params=params)
        if op == 3:
            self.acc_running = False
        return f.response(op, kind)

    def backend_class(self) -> type[BaseBleakClient]:
        """A bleak backend bound to this band."""
        band = self

        class Backend(_Backend):
            def __init__(self, address: Any, **kwargs: Any) -> None:
                super().__init__(address, band=band, **kwargs)

        return Backend

    def factory(self) -> Callable[[str, Callable[[BleakClient], None]], BleakClient]:
        """What the bridge uses to make its clients."""
        backend = self.backend_class()
        return lambda address, lost: BleakClient(address, lost, backend=backend)


class _Backend(BaseBleakClient):
    def __init__(self, address: Any, *, band: Band, **kwargs: Any) -> None:
        super().__init__(
            address,
            disconnected_callback=kwargs.get("disconnected_callback"),
            timeout=kwargs.get("timeout", 10.0),
        )
        self.band = band
        self.connected = False
        self.on_lost: Callable[[], None] | None = kwargs.get("disconnected_callback")

    @property
    def mtu_size(self) -> int:
        return 247

    async def connect(self, pair: bool, **kwargs: Any) -> None:
        band = self.band
        if band.refuse_connects > 0:
            band.refuse_connects -= 1
            raise BleakError(f"Device with address {self.address} was not found.")
        band.connects += 1
        band.backend = self
        band.loop = asyncio.get_running_loop()
        self.services = band.services()
        self.connected = True

    async def disconnect(self) -> None:
        self.connected = False

    async def pair(self, *args: Any, **kwargs: Any) -> None:
        return None

    async def unpair(self) -> None:
        return None

    @property
    def is_connected(self) -> bool:
        return self.connected

    async def read_gatt_char(
        self, characteristic: BleakGATTCharacteristic, *, use_cached: bool = False, **kw: Any
    ) -> bytearray:
        if characteristic.uuid == BATTERY_LEVEL:
            if not self.band.battery_readable:
                raise BleakError("[org.bluez.Error.NotPermitted] Read not permitted")
            assert self.band.battery is not None
            return bytearray([self.band.battery])
        if characteristic.uuid == pmd.PMD_CONTROL:
            return bytearray([0x0F, 0b0000_0101])  # ECG and ACC, as an H10 says
        raise BleakError(f"read not permitted on {characteristic.uuid}")

    async def read_gatt_descriptor(
        self, descriptor: BleakGATTDescriptor, *, use_cached: bool = False, **kw: Any
    ) -> bytearray:
        raise BleakError("no descriptors")

    async def write_gatt_char(
        self, characteristic: BleakGATTCharacteristic, data: Any, response: bool
    ) -> None:
        if characteristic.uuid != pmd.PMD_CONTROL:
            raise BleakError(f"write not permitted on {characteristic.uuid}")
        answer = self.band.answer(bytes(data))
        callback = self.band.callbacks.get(pmd.PMD_CONTROL)
        if answer is not None and callback is not None:
            asyncio.get_running_loop().call_soon(callback, bytearray(answer))

    async def write_gatt_descriptor(self, descriptor: BleakGATTDescriptor, data: Any) -> None:
        raise BleakError("no descriptors")

    async def start_notify(
        self, characteristic: BleakGATTCharacteristic, callback: NotifyCallback, **kw: Any
    ) -> None:
        self.band.callbacks[characteristic.uuid] = callback

    async def stop_notify(self, characteristic: BleakGATTCharacteristic) -> None:
        self.band.callbacks.pop(characteristic.uuid, None)
