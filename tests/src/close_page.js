// The page side of the close tests: RTCPeerConnections in Chromium whose close-related events
// (data channel `close`, DTLS transport `closed`, track `ended`) are stamped with
// performance.now(). Installed into a blank page by tests/src/close_probe.rs.
window.confab = (() => {
  const now = () => performance.now();
  const isLoopbackCandidate = (line) => / 127\.0\.0\.1 \d+ typ host/.test(line);

  // Chromium's fake camera (--use-fake-device-for-media-stream). Holding camera permission
  // also lets the page gather every interface, loopback included (without it Chromium offers
  // only the default route's address).
  async function fakeCamera() {
    const stream = await navigator.mediaDevices.getUserMedia({ video: { width: 160, height: 120 } });
    return stream.getVideoTracks()[0];
  }

  function watchChannel(channel, seen) {
    seen.channel = channel;
    channel.onopen = () => { seen.channelOpen ??= now(); };
    channel.onclose = () => { seen.channelClose ??= now(); };
  }

  function watch(pc, seen) {
    pc.ondatachannel = (e) => watchChannel(e.channel, seen);
    pc.ontrack = (e) => {
      seen.trackArrived ??= now();
      e.track.onended = () => { seen.trackEnded ??= now(); };
    };
  }

  // Once connected: follow the DTLS transport everything is bundled on.
  function watchDtls(pc, seen) {
    const transport = pc.sctp?.transport ?? pc.getReceivers()[0]?.transport;
    if (!transport || seen.dtlsWatched) return;
    seen.dtlsWatched = true;
    const update = () => {
      seen.dtls = transport.state;
      if (transport.state === 'closed') seen.dtlsClosed ??= now();
    };
    transport.addEventListener('statechange', update);
    update();
  }

  async function gathered(pc) {
    if (pc.iceGatheringState === 'complete') return;
    await new Promise((resolve) => {
      pc.addEventListener('icegatheringstatechange', () => {
        if (pc.iceGatheringState === 'complete') resolve();
      });
    });
  }

  // Splits a local description into its SDP without candidates and its loopback candidates.
  function describe(pc) {
    const lines = pc.localDescription.sdp.split('\r\n');
    return {
      sdp: lines.filter((l) => !l.startsWith('a=candidate:') && l !== 'a=end-of-candidates').join('\r\n'),
      candidates: lines.filter((l) => l.startsWith('a=candidate:') && isLoopbackCandidate(l)).map((l) => l.slice(2)),
    };
  }

  const self = {
    now,
    seen: {},
    pending: [],

    // Answers a remote offer, sending a canvas video track back.
    async answer(offer) {
      const pc = new RTCPeerConnection();
      self.pc = pc;
      watch(pc, self.seen);
      pc.addTrack(await fakeCamera());
      await pc.setRemoteDescription({ type: 'offer', sdp: offer });
      for (const candidate of self.pending) await pc.addIceCandidate(candidate);
      await pc.setLocalDescription(await pc.createAnswer());
      await gathered(pc);
      return describe(pc);
    },

    async addCandidate(candidate, sdpMid) {
      if (!isLoopbackCandidate(candidate)) return;
      const init = { candidate, sdpMid };
      if (self.pc?.remoteDescription) await self.pc.addIceCandidate(init);
      else self.pending.push(init);
    },

    // What the page has seen so far (stamps in ms of performance.now()).
    report() {
      if (self.pc && self.pc.connectionState === 'connected') watchDtls(self.pc, self.seen);
      const { channel, ...stamps } = self.seen;
      return { ...stamps, connection: self.pc?.connectionState, channelState: channel?.readyState };
    },

    // Closes the page's connection; returns when it did.
    close() {
      const at = now();
      self.pc.close();
      return at;
    },

    // The reference: two connections inside this page, A offering a data channel and video to
    // B, candidates on loopback only. Resolves once B's channel is open.
    async pair() {
      const a = new RTCPeerConnection();
      const b = new RTCPeerConnection();
      self.a = a;
      self.b = b;
      self.seenB = {};
      watch(b, self.seenB);
      watchChannel(a.createDataChannel('confab'), {});
      a.addTrack(await fakeCamera());
      // Whole descriptions once gathered, with loopback candidates only.
      const loopbackOnly = (sdp) => sdp.split('\r\n')
        .filter((l) => !l.startsWith('a=candidate:') || isLoopbackCandidate(l)).join('\r\n');
      await a.setLocalDescription(await a.createOffer());
      await gathered(a);
      await b.setRemoteDescription({ type: 'offer', sdp: loopbackOnly(a.localDescription.sdp) });
      await b.setLocalDescription(await b.createAnswer());
      await gathered(b);
      await a.setRemoteDescription({ type: 'answer', sdp: loopbackOnly(b.localDescription.sdp) });
      const started = now();
      while (!(self.seenB.channelOpen && b.connectionState === 'connected')) {
        if (now() - started > 10000) throw new Error(`pair did not connect: ${b.connectionState}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      watchDtls(b, self.seenB);
      return true;
    },

    closeA() {
      const at = now();
      self.a.close();
      return at;
    },

    reportB() {
      const { channel, ...stamps } = self.seenB;
      return stamps;
    },
  };
  return self;
})();
