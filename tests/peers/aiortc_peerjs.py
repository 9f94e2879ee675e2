"""aiortc as a PeerJS peer in a Confab mesh room, for Confab's end-to-end tests: it waits in the
room and answers what Confab offers it, the way a PeerJS client answers a call and a data
connection.

    python aiortc_peerjs.py BASE_URL PEER_ID SECONDS FRAME_FILE

Registers PEER_ID (ROOM-16 hex digits, Confab's naming rule for a room's members) with the
PeerJS server at BASE_URL (http://HOST:PORT/, key "peerjs"), sends HEARTBEAT every 5 s, and for
SECONDS answers each OFFER: a media connection with a moving picture (320x240, 30 fps) and a
440 Hz tone sent back on the offered sections, a data connection by greeting ({"type": "hello",
"name": "aiortc"}) and echoing every chat message publicly as "echo: TEXT" (JSON in binary
messages, PeerJS' "json" serialization). Candidates trickled by the offerer are applied. Only
127.0.0.1 is used (the tests' network rule).

Prints what it received (see received.py) plus "hello": the offerer's name and "chat": the
texts it was sent. Any failure exits non-zero with the reason.
"""

import asyncio
import json
import random
import sys
import urllib.parse

import aioice.ice
import websockets
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.sdp import candidate_from_sdp
from aiortc_whip import MovingSquare, Tone
from received import Received

aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"]


class Peer:
    """Our side of every connection offered to us, by connection id."""

    def __init__(self, socket, frame_file):
        self.socket = socket
        self.received = Received(frame_file)
        self.connections = {}
        self.heard = {"hello": None, "chat": []}
        self.sent = 0

    async def send(self, frame):
        await self.socket.send(json.dumps(frame))

    async def offered(self, src, payload):
        pc = RTCPeerConnection()
        self.connections[payload["connectionId"]] = pc
        if payload["type"] == "media":
            pc.on("track", self.received.track)
        else:
            pc.on("datachannel", self.channel)
        await pc.setRemoteDescription(RTCSessionDescription(**payload["sdp"]))
        if payload["type"] == "media":
            # Each source takes the offered section of its kind, which then sends both ways.
            for kind in [t.kind for t in pc.getTransceivers()]:
                pc.addTrack(MovingSquare() if kind == "video" else Tone())
        await pc.setLocalDescription(await pc.createAnswer())
        answer = {"type": "answer", "sdp": pc.localDescription.sdp}
        body = {"sdp": answer, "type": payload["type"], "connectionId": payload["connectionId"]}
        await self.send({"type": "ANSWER", "dst": src, "payload": body})

    async def candidate(self, payload):
        pc = self.connections.get(payload["connectionId"])
        wire = payload["candidate"]
        if pc is None or not wire.get("candidate"):
            return
        candidate = candidate_from_sdp(wire["candidate"].split(":", 1)[1])
        candidate.sdpMid = wire.get("sdpMid")
        candidate.sdpMLineIndex = wire.get("sdpMLineIndex")
        await pc.addIceCandidate(candidate)

    def channel(self, channel):
        def say(message):
            channel.send(json.dumps(message).encode())

        @channel.on("message")
        def on_message(data):
            message = json.loads(data if isinstance(data, str) else data.decode())
            if message.get("type") == "hello":
                self.heard["hello"] = message["name"]
                say({"type": "hello", "name": "aiortc", "tracks": []})
            elif message.get("type") == "chat":
                self.heard["chat"].append(message["text"])
                self.sent += 1
                say({"type": "chat", "id": f"aio-{self.sent}", "order": self.sent, "text": "echo: " + message["text"]})

    async def close(self):
        for pc in self.connections.values():
            await pc.close()
        return dict(self.received.stop(), **self.heard)


async def heartbeat(peer):
    while True:
        await asyncio.sleep(5)
        await peer.send({"type": "HEARTBEAT"})


async def serve(peer):
    async for text in peer.socket:
        message = json.loads(text)
        kind = message.get("type")
        if kind == "OFFER":
            await peer.offered(message["src"], message["payload"])
        elif kind == "CANDIDATE":
            await peer.candidate(message["payload"])
        elif kind in ("ERROR", "ID-TAKEN"):
            raise SystemExit(f"the PeerJS server refused us: {message}")


async def run(base_url, peer_id, seconds, frame_file):
    base = urllib.parse.urlparse(base_url)
    token = "%016x" % random.getrandbits(64)
    url = f"ws://{base.netloc}{base.path}peerjs?key=peerjs&id={peer_id}&token={token}"
    async with websockets.connect(url, ping_interval=None) as socket:
        opened = json.loads(await asyncio.wait_for(socket.recv(), 10))
        if opened.get("type") != "OPEN":
            raise SystemExit(f"the PeerJS server did not register us: {opened}")
        peer = Peer(socket, frame_file)
        tasks = [asyncio.ensure_future(heartbeat(peer)), asyncio.ensure_future(serve(peer))]
        done, _ = await asyncio.wait(tasks, timeout=seconds, return_when=asyncio.FIRST_EXCEPTION)
        for task in done:
            task.result()
        for task in tasks:
            task.cancel()
        return await peer.close()


def main():
    base_url, peer_id, seconds, frame_file = sys.argv[1:5]
    print(json.dumps(asyncio.run(run(base_url, peer_id, float(seconds), frame_file))), flush=True)


if __name__ == "__main__":
    main()
