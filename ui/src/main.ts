// The app's screens and how one leads to the next: home → pre-join → call → home.
import { backend, captureRole, errorMessage, type DeviceRole, type JoinRequest, type LinkView, type Media, type SourceChoice, type UiEvent } from "./backend";
import { applyEvent, deviceReplaced, joinedWith, newCallModel, openConversation, privateWith, type CallModel } from "./model";
import { CallScreen } from "./views/call";
import { homeView } from "./views/home";
import { PrejoinScreen, type PrejoinInput } from "./views/prejoin";
import { socketPictures, type VideoFeed } from "./video";

const root = document.getElementById("app") as HTMLElement;
let call: { model: CallModel; screen: CallScreen } | null = null;
let prejoin: PrejoinScreen | null = null;
let pictureSocket: Promise<string> | null = null;
/** The picture socket's address, asked for once; asked again by the next tile if that failed. */
function pictureSocketAddress(): Promise<string> {
  pictureSocket ??= backend.pictureSocket().catch((error) => {
    console.error(`no video: ${errorMessage(error)}`);
    pictureSocket = null;
    throw error;
  });
  return pictureSocket;
}
/** Where tiles get their pictures; how they draw them comes from the settings. */
const video: VideoFeed = { drawing: "auto", open: (participant) => socketPictures(pictureSocketAddress(), participant) };

function show(node: HTMLElement): void {
  if (prejoin && node !== prejoin.root) {
    prejoin.dispose();
    prejoin = null;
  }
  root.replaceChildren(node);
}

function closeCallScreen(): void {
  call?.screen.dispose();
  call = null;
}

function home(error: string | null = null): void {
  closeCallScreen();
  if (prejoin) void backend.stopPreview().catch(() => undefined);
  show(homeView({ newMeeting: () => void newMeeting(), openLink: (text) => void openLink(text, null) }, error));
}

async function newMeeting(): Promise<void> {
  try {
    const meeting = await backend.startMeeting();
    await openLink(meeting.link, meeting);
  } catch (error) {
    home(errorMessage(error));
  }
}

async function openLink(link: string, hosted: { link: string; localOnly: boolean } | null): Promise<void> {
  let summary: LinkView;
  try {
    summary = await backend.parseLink(link);
  } catch (error) {
    home(errorMessage(error));
    return;
  }
  const [devices, loaded] = await Promise.all([backend.listDevices(), backend.loadSettings()]);
  video.drawing = loaded.settings.videoDrawing ?? "auto";
  const input: PrejoinInput = {
    link: link.trim(),
    summary,
    shareLink: hosted?.link ?? null,
    localOnly: hosted?.localOnly ?? false,
    devices,
    name: loaded.settings.displayName ?? "",
    notes: [...devices.notes, ...(loaded.problem ? [loaded.problem] : [])],
    error: null,
  };
  const showPrejoin = () => {
    const screen = new PrejoinScreen(input, {
      join: (request) => void join(request, input, showPrejoin),
      back: () => home(),
      preview: backend.startPreview,
      micLevel: backend.micLevel,
      video,
    });
    show(screen.root);
    prejoin = screen;
  };
  showPrejoin();
}

async function join(request: JoinRequest, input: PrejoinInput, retry: () => void): Promise<void> {
  const model = newCallModel();
  prejoin?.dispose();
  const screen = new CallScreen(callActions(), request);
  screen.setDevices(input.devices);
  call = { model, screen };
  const onEvent = (event: UiEvent) => {
    if (call?.model !== model) return;
    applyEvent(model, event);
    screen.update(model);
  };
  try {
    const answer = await backend.join(request, onEvent);
    model.problems.push(...answer.notices);
    joinedWith(model, request, answer);
    screen.joinedWith(answer);
  } catch (error) {
    screen.dispose();
    call = null;
    input.error = errorMessage(error);
    retry();
    return;
  }
  show(screen.root);
  screen.update(model);
}

function refresh(): void {
  if (call) call.screen.update(call.model);
}

function problem(error: unknown): void {
  if (!call) return;
  call.model.problems.push(errorMessage(error));
  refresh();
}

/** Asks for `choice` in `role` in the call; a device that will not open is a problem shown. */
async function useDevice(role: DeviceRole, choice: SourceChoice): Promise<boolean> {
  try {
    await backend.switchDevice(role, choice);
    return true;
  } catch (error) {
    problem(error);
    return false;
  }
}

function callActions() {
  return {
    toggleMuted(media: Media) {
      if (!call) return;
      const muted = !call.model.own.muted[media];
      call.model.own.muted[media] = muted;
      call.model.own.lost.delete(media); // the user decides from here on
      refresh();
      backend.setMuted(media, muted).catch(problem);
    },
    async switchDevice(role: DeviceRole, choice: SourceChoice): Promise<boolean> {
      const model = call?.model;
      if (!model || !(await useDevice(role, choice))) return false;
      const media: Media | null = role === "camera" ? "video" : role === "microphone" ? "audio" : null;
      // A device that had stopped is replaced: send that medium again.
      if (media && deviceReplaced(model, media)) {
        refresh();
        await backend.setMuted(media, false).catch(problem);
      }
      return true;
    },
    async switchOn(media: Media, choice: SourceChoice): Promise<boolean> {
      const model = call?.model;
      if (!model || !(await useDevice(captureRole(media), choice))) return false;
      model.own.muted[media] = false;
      model.own.lost.delete(media);
      refresh();
      await backend.setMuted(media, false).catch(problem);
      return true;
    },
    switchOff(media: Media) {
      if (!call) return;
      call.model.own.muted[media] = true;
      call.model.own.lost.delete(media);
      refresh();
      backend.switchDevice(captureRole(media), "none").catch(problem);
    },
    leave: () => void backend.leave().catch(problem),
    home: () => home(),
    video,
    messagePrivately(identity: string) {
      if (!call) return;
      const conversation = privateWith(call.model, identity);
      if (conversation) openConversation(call.model, conversation.key);
      refresh();
    },
    openConversation(key: string) {
      if (!call) return;
      openConversation(call.model, key);
      refresh();
    },
    send(key: string, text: string) {
      const conversation = call?.model.conversations.get(key);
      if (!conversation) return;
      backend.sendChat(conversation.view, text).catch(problem);
    },
  };
}

/** A link handed to the app: opened at once, or offered if it would end the call we are in. */
async function incomingLink(): Promise<void> {
  const link = await backend.launchLink().catch(() => null);
  if (!link) return;
  const current = call;
  if (!current || current.model.banner.kind === "ended") {
    closeCallScreen();
    await openLink(link, null);
    return;
  }
  try {
    const summary = await backend.parseLink(link);
    current.screen.offerLink(summary.room, () => void leaveAndOpen(link));
  } catch (error) {
    problem(error);
  }
}

async function leaveAndOpen(link: string): Promise<void> {
  await backend.leave().catch(problem);
  closeCallScreen();
  await openLink(link, null);
}

async function start(): Promise<void> {
  home();
  await backend
    .onDevicesChanged((devices) => {
      if (prejoin) prejoin.setDevices(devices);
      call?.screen.setDevices(devices);
    })
    .catch(() => undefined);
  await backend.onOpenLink(() => void incomingLink()).catch(() => undefined);
  await incomingLink();
}

void start();
