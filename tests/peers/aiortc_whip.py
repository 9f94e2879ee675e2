"""aiortc as a WHIP publisher or a WHEP player, for Confab's end-to-end tests.

aiortc is an independent WebRTC stack; as offerer it gives each media section its own ICE
credentials, which the embedded server must accept under BUNDLE. Only loopback is used (the
tests' network rule): aioice is told that 127.0.0.1 is the only host address.

    python aiortc_whip.py publish URL TOKEN SECONDS
        Publishes a moving picture (a bright square crossing a dark frame, 320x240, 30 fps) and
        a 440 Hz tone for SECONDS, then DELETEs the session. Prints {"published": true}.
    python aiortc_whip.py watch URL TOKEN SECONDS FRAME_FILE
        Plays the session for SECONDS, writes the last decoded picture to FRAME_FILE as raw
        I420, DELETEs the session and prints what it received (see received.py).

Any failure prints the error to stderr and exits non-zero.
"""

import asyncio
import fractions
import json
import math
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

import aioice.ice
import av
from aiortc import MediaStreamTrack, RTCPeerConnection, RTCSessionDescription
from received import Received

aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"]

WIDTH, HEIGHT, FPS = 320, 240, 30
SAMPLE_RATE, SAMPLES_PER_FRAME = 48000, 960


class PacedTrack(MediaStreamTrack):
    """A source that hands out frame number `count` once its time (count * period) has come."""

    def __init__(self, period):
        super().__init__()
        self.period = period
        self.count = 0
        self.started = None

    async def next_turn(self):
        if self.started is None:
            self.started = time.monotonic()
        due = self.started + self.count * self.period
        await asyncio.sleep(max(0, due - time.monotonic()))
        self.count += 1
        return self.count - 1


class MovingSquare(PacedTrack):
    """A 64x64 bright square moving across a dark frame, one step per frame."""

    kind = "video"

    def __init__(self):
        super().__init__(1 / FPS)

    async def recv(self):
        count = await self.next_turn()
        x = (count * 4) % (WIDTH - 64)
        luma = bytearray([16]) * (WIDTH * HEIGHT)
        for row in range(88, 152):
            luma[row * WIDTH + x : row * WIDTH + x + 64] = bytes([235]) * 64
        frame = av.VideoFrame(WIDTH, HEIGHT, "yuv420p")
        frame.planes[0].update(bytes(luma))
        frame.planes[1].update(bytes([128]) * (WIDTH * HEIGHT // 4))
        frame.planes[2].update(bytes([128]) * (WIDTH * HEIGHT // 4))
        frame.pts = count * (90000 // FPS)
        frame.time_base = fractions.Fraction(1, 90000)
        return frame


class Tone(PacedTrack):
    """A 440 Hz sine, 20 ms per frame."""

    kind = "audio"

    def __init__(self):
        super().__init__(SAMPLES_PER_FRAME / SAMPLE_RATE)

    async def recv(self):
        first = await self.next_turn() * SAMPLES_PER_FRAME
        samples = bytearray()
        for n in range(first, first + SAMPLES_PER_FRAME):
            value = int(6000 * math.sin(2 * math.pi * 440 * n / SAMPLE_RATE))
            samples += value.to_bytes(2, "little", signed=True)
        frame = av.AudioFrame(format="s16", layout="mono", samples=SAMPLES_PER_FRAME)
        frame.planes[0].update(bytes(samples))
        frame.sample_rate = SAMPLE_RATE
        frame.pts = first
        frame.time_base = fractions.Fraction(1, SAMPLE_RATE)
        return frame


def http(method, url, token, body=None, content_type=None):
    request = urllib.request.Request(url, data=body, method=method)
    request.add_header("Authorization", f"Bearer {token}")
    if content_type:
        request.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            return response.status, response.headers, response.read().decode()
    except urllib.error.HTTPError as e:
        raise SystemExit(f"{method} {url} answered {e.code}: {e.read().decode()}")


async def negotiate(pc, url, token):
    """POSTs our offer (all candidates in it: aiortc gathers before the offer is ready)."""
    await pc.setLocalDescription(await pc.createOffer())
    offer = pc.localDescription.sdp.encode()
    status, headers, answer = await asyncio.to_thread(http, "POST", url, token, offer, "application/sdp")
    location = headers.get("Location")  # case-insensitive lookup
    if status != 201 or not location:
        raise SystemExit(f"POST {url} answered {status} without a Location")
    await pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
    return urllib.parse.urljoin(url, location)


async def publish(url, token, seconds):
    pc = RTCPeerConnection()
    pc.addTransceiver(MovingSquare(), direction="sendonly")
    pc.addTransceiver(Tone(), direction="sendonly")
    session = await negotiate(pc, url, token)
    await asyncio.sleep(seconds)
    await asyncio.to_thread(http, "DELETE", session, token)
    await pc.close()
    return {"published": True}


async def watch(url, token, seconds, frame_file):
    pc = RTCPeerConnection()
    pc.addTransceiver("video", direction="recvonly")
    pc.addTransceiver("audio", direction="recvonly")
    received = Received(frame_file)
    pc.on("track", received.track)
    session = await negotiate(pc, url, token)
    await asyncio.sleep(seconds)
    await asyncio.to_thread(http, "DELETE", session, token)
    await pc.close()
    return received.stop()


def main():
    role, url, token, seconds = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
    if role == "publish":
        result = asyncio.run(publish(url, token, seconds))
    elif role == "watch":
        result = asyncio.run(watch(url, token, seconds, sys.argv[5]))
    else:
        raise SystemExit(f"unknown role {role}")
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
