"""An independent Modbus slave for fenghuo's tests (python3-pymodbus 3.0.0).

Usage: /usr/bin/python3 pyslave.py '{"1": {"0": 5, "16": 1}}' [MODE]
  argv[1]  JSON: slave id -> {holding register address: value}; every slave has
           holding registers 0..65535 (zero-based: zero_mode=True), unset ones read 0.
  MODE     "tcp" (default): Modbus TCP on 127.0.0.1:<free port>;
           "rtu-over-tcp": RTU frames (with CRC, no MBAP) on 127.0.0.1:<free port>;
           "rtu:<serial device>": RTU on a serial port (a socat pty), 9600 8N1.
Protocol on stdio (one line each):
  stdout   "READY <port>" once the server listens on 127.0.0.1:<port>
           ("READY 0" for rtu, once the serial port is open)
  stdin    "set <slave> <addr> <value>"  ->  stdout "OK" or "ERR <reason>"
  stdin    EOF or "quit"                 ->  the process exits
Unknown slave ids get no answer (ignore_missing_slaves).
"""
import asyncio
import json
import os
import sys
import threading

from pymodbus.datastore import (
    ModbusSequentialDataBlock,
    ModbusServerContext,
    ModbusSlaveContext,
)
from pymodbus.framer.rtu_framer import ModbusRtuFramer
from pymodbus.server.async_io import ModbusSerialServer, ModbusTcpServer

HOLDING = 3  # function code whose block setValues addresses


def make_context(spec):
    slaves = {}
    for sid, regs in spec.items():
        hr = ModbusSequentialDataBlock(0, [0] * 65536)
        for addr, value in regs.items():
            hr.setValues(int(addr), [int(value)])
        slaves[int(sid)] = ModbusSlaveContext(
            di=ModbusSequentialDataBlock(0, [0] * 16),
            co=ModbusSequentialDataBlock(0, [0] * 16),
            ir=ModbusSequentialDataBlock(0, [0] * 16),
            hr=hr,
            zero_mode=True,  # pymodbus otherwise shifts every address by +1
        )
    return ModbusServerContext(slaves=slaves, single=False)


def control(context):
    """Apply "set" lines from stdin; exit on EOF or "quit"."""
    for line in sys.stdin:
        parts = line.split()
        if not parts:
            continue
        if parts[0] == "quit":
            break
        try:
            if parts[0] != "set" or len(parts) != 4:
                raise ValueError("want: set <slave> <addr> <value>")
            sid, addr, value = (int(p, 0) for p in parts[1:])
            if not (0 <= addr <= 0xFFFF and 0 <= value <= 0xFFFF):
                raise ValueError("addr and value must be 0..65535")
            context[sid].setValues(HOLDING, addr, [value])
            print("OK", flush=True)
        except Exception as exc:  # report, keep serving
            print(f"ERR {exc}", flush=True)
    os._exit(0)


async def serve_rtu(context, device):
    # the serial server's framer must be RTU (DESIGN.md §9: some entry
    # points default to ASCII); a missing slave must stay silent
    server = ModbusSerialServer(
        context, framer=ModbusRtuFramer, port=device, baudrate=9600,
        bytesize=8, parity="N", stopbits=1, ignore_missing_slaves=True,
    )
    await server.start()
    print("READY 0", flush=True)
    threading.Thread(target=control, args=(context,), daemon=True).start()
    while True:
        await asyncio.sleep(3600)


async def main():
    context = make_context(json.loads(sys.argv[1]))
    mode = sys.argv[2] if len(sys.argv) > 2 else "tcp"
    if mode.startswith("rtu:"):
        await serve_rtu(context, mode[4:])
        return
    framer = ModbusRtuFramer if mode == "rtu-over-tcp" else None
    server = ModbusTcpServer(
        context, framer=framer, address=("127.0.0.1", 0), ignore_missing_slaves=True
    )
    task = asyncio.create_task(server.serve_forever())
    await server.serving
    port = server.server.sockets[0].getsockname()[1]
    print(f"READY {port}", flush=True)
    threading.Thread(target=control, args=(context,), daemon=True).start()
    await task


if __name__ == "__main__":
    asyncio.run(main())
