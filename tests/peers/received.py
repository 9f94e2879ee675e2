"""What the aiortc test peers received: frame counts, the picture size, decoded frames per second
of the run, and the last decoded picture written as raw I420 (for Confab's pattern check)."""

import asyncio
import time


class Received:
    """Reads every remote track of a connection until cancelled."""

    def __init__(self, frame_file):
        self.frame_file = frame_file
        self.started = time.monotonic()
        self.seen = {"frames": 0, "width": 0, "height": 0, "audio_frames": 0, "frames_per_second": []}
        self.readers = []

    def track(self, track):
        self.readers.append(asyncio.ensure_future(self.read(track)))

    async def read(self, track):
        while True:
            try:
                frame = await track.recv()
            except Exception:
                return
            if track.kind == "audio":
                self.seen["audio_frames"] += 1
                continue
            self.count_video(frame)

    def count_video(self, frame):
        seen = self.seen
        seen["frames"] += 1
        second = int(time.monotonic() - self.started)
        per_second = seen["frames_per_second"]
        per_second.extend([0] * (second + 1 - len(per_second)))
        per_second[second] += 1
        seen["width"], seen["height"] = frame.width, frame.height
        i420 = frame.reformat(format="yuv420p")
        sizes = [(frame.width, frame.height)] + [(frame.width // 2, frame.height // 2)] * 2
        with open(self.frame_file, "wb") as out:
            for plane, (w, h) in zip(i420.planes, sizes):
                data = bytes(plane)
                for row in range(h):
                    out.write(data[row * plane.line_size : row * plane.line_size + w])

    def stop(self):
        for reader in self.readers:
            reader.cancel()
        # Seconds at the end without a frame count as zeros.
        per_second = self.seen["frames_per_second"]
        per_second.extend([0] * (int(time.monotonic() - self.started) + 1 - len(per_second)))
        return self.seen
