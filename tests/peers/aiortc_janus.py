"""aiortc as a Janus VideoRoom subscriber, for Confab's end-to-end tests: it watches what a
publisher (Confab, over WHIP through simple-whip-server) brings into a Janus room.

    python aiortc_janus.py WS_URL ROOM HOST_IP SECONDS FRAME_FILE

Speaks the Janus API over WebSocket: creates a session, attaches the VideoRoom plugin, waits
(up to 15 s) for a publisher in ROOM, subscribes to its streams, answers Janus' offer and reads
for SECONDS. ICE uses HOST_IP only (the test's end of its network namespace link). Writes the
last decoded picture to FRAME_FILE as raw I420 and prints what it received (see received.py),
plus "publisher": the publisher's display name. Any failure exits non-zero with the reason.
"""

import asyncio
import json
import random
import sys
import time

import aioice.ice
import websockets
from aiortc import RTCPeerConnection, RTCSessionDescription
from received import Received


class Janus:
    """One Janus session over one WebSocket; requests wait for their own transaction's reply."""

    def __init__(self, socket):
        self.socket = socket
        self.session = None
        self.events = asyncio.Queue()
        self.pending = {}
        self.reader = asyncio.ensure_future(self.read())

    async def read(self):
        async for text in self.socket:
            message = json.loads(text)
            waiter = self.pending.get(message.get("transaction"))
            if waiter and message.get("janus") != "ack":
                waiter.set_result(message)
            elif message.get("janus") == "event" and not waiter:
                await self.events.put(message)

    async def request(self, body, handle=None):
        transaction = "%016x" % random.getrandbits(64)
        body = dict(body, transaction=transaction)
        if self.session:
            body["session_id"] = self.session
        if handle:
            body["handle_id"] = handle
        waiter = self.pending[transaction] = asyncio.get_running_loop().create_future()
        await self.socket.send(json.dumps(body))
        try:
            reply = await asyncio.wait_for(waiter, 10)
        finally:
            del self.pending[transaction]
        if reply.get("janus") == "error" or "error" in reply.get("plugindata", {}).get("data", {}):
            raise SystemExit(f"Janus refused {body.get('janus')}: {reply}")
        return reply


async def first_publisher(janus, handle, room):
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        reply = await janus.request(
            {"janus": "message", "body": {"request": "listparticipants", "room": room}}, handle
        )
        publishers = [p for p in reply["plugindata"]["data"]["participants"] if p.get("publisher")]
        if publishers:
            return publishers[0]
        await asyncio.sleep(0.2)
    raise SystemExit(f"no publisher appeared in room {room}")


async def subscribe(url, room, seconds, frame_file):
    async with websockets.connect(url, subprotocols=["janus-protocol"], ping_interval=None) as socket:
        janus = Janus(socket)
        janus.session = (await janus.request({"janus": "create"}))["data"]["id"]
        attach = {"janus": "attach", "plugin": "janus.plugin.videoroom"}
        handle = (await janus.request(attach))["data"]["id"]
        publisher = await first_publisher(janus, handle, room)
        join = {"request": "join", "ptype": "subscriber", "room": room, "streams": [{"feed": publisher["id"]}]}
        reply = await janus.request({"janus": "message", "body": join}, handle)
        offer = reply.get("jsep")
        if not offer:
            raise SystemExit(f"Janus sent no offer: {reply}")
        pc = RTCPeerConnection()
        received = Received(frame_file)
        pc.on("track", received.track)
        await pc.setRemoteDescription(RTCSessionDescription(sdp=offer["sdp"], type="offer"))
        await pc.setLocalDescription(await pc.createAnswer())
        answer = {"type": "answer", "sdp": pc.localDescription.sdp}
        start = {"janus": "message", "body": {"request": "start", "room": room}, "jsep": answer}
        await janus.request(start, handle)
        await asyncio.sleep(seconds)
        await pc.close()
        seen = received.stop()
        seen["publisher"] = publisher.get("display", "")
        await janus.request({"janus": "destroy"})
        return seen


def main():
    url, room, host_ip, seconds, frame_file = sys.argv[1:6]
    aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: [host_ip]
    print(json.dumps(asyncio.run(subscribe(url, int(room), float(seconds), frame_file))), flush=True)


if __name__ == "__main__":
    main()
