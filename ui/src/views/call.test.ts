import { describe, expect, it } from "vitest";
import type { DeviceRole, DevicesView, Media, SourceChoice } from "../backend";
import { applyEvent, joinedWith, newCallModel } from "../model";
import { CallScreen, type CallActions } from "./call";

const devices: DevicesView = {
  cameras: [{ id: "device:usb", label: "USB camera" }, { id: "synthetic", label: "Test pattern" }],
  microphones: [{ id: "synthetic", label: "Test tone" }],
  speakers: [],
  notes: [],
};

function screen(switches: (role: DeviceRole, choice: SourceChoice) => boolean, joinedCamera: SourceChoice = "device:usb") {
  const picked: [DeviceRole, SourceChoice][] = [];
  const switched: [string, Media, SourceChoice?][] = [];
  const actions = {
    toggleMuted: (media: Media) => void switched.push(["toggle", media]),
    switchDevice: async (role: DeviceRole, choice: SourceChoice) => {
      picked.push([role, choice]);
      return switches(role, choice);
    },
    switchOn: async (media: Media, choice: SourceChoice) => {
      switched.push(["on", media, choice]);
      return true;
    },
    switchOff: (media: Media) => void switched.push(["off", media]),
    leave: () => undefined,
    home: () => undefined,
    messagePrivately: () => undefined,
    openConversation: () => undefined,
    send: () => undefined,
    video: { drawing: "canvas", open: () => ({ next: () => new Promise<ArrayBuffer>(() => undefined), close: () => undefined }) },
  } as CallActions;
  const call = new CallScreen(actions, { camera: joinedCamera, microphone: "synthetic", speaker: "none" });
  call.setDevices(devices);
  const camera = call.root.querySelector<HTMLSelectElement>("#call-camera")!;
  return { call, camera, picked, switched };
}

async function choose(select: HTMLSelectElement, value: string): Promise<void> {
  select.value = value;
  select.dispatchEvent(new Event("change"));
  await new Promise((done) => setTimeout(done, 0));
}

describe("device pickers in the call", () => {
  it("show the devices joined with, and switch on a pick", async () => {
    const { camera, picked } = screen(() => true);
    expect(camera.value).toBe("device:usb");
    await choose(camera, "synthetic");
    expect(picked).toEqual([["camera", "synthetic"]]);
    expect(camera.value).toBe("synthetic");
  });

  it("go back to the device in use when the picked one will not open", async () => {
    const { camera } = screen(() => false);
    await choose(camera, "synthetic");
    expect(camera.value).toBe("device:usb");
  });

  it("ask for another device when the one in use is unplugged or stops", () => {
    const { call, camera } = screen(() => true);
    call.setDevices({ ...devices, cameras: [{ id: "synthetic", label: "Test pattern" }] });
    expect([camera.value, camera.selectedOptions[0].textContent]).toEqual(["", "Pick a camera"]);

    const stopped = screen(() => true);
    const model = newCallModel();
    applyEvent(model, { kind: "deviceLost", media: "video", message: "The camera stopped working." });
    stopped.call.update(model);
    expect(stopped.camera.value).toBe("");
    stopped.call.setDevices(devices);
    expect(stopped.camera.value, "still asking after the list is redrawn").toBe("");
  });
});

/** Presses the camera button as the screen shows it now. */
async function pressCamera(call: CallScreen): Promise<void> {
  call.root.querySelector<HTMLButtonElement>("#toggle-camera")!.click();
  await new Promise((done) => setTimeout(done, 0));
}

describe("the camera button", () => {
  it("with the camera off after joining, opens the camera the picker shows (and a pick alone does not)", async () => {
    const { call, camera, picked, switched } = screen(() => true, "none");
    const model = newCallModel();
    const answer = { camera: "none", microphone: "synthetic" };
    joinedWith(model, answer, answer);
    call.joinedWith(answer);
    call.setDevices(devices);
    call.update(model);
    expect(call.root.querySelector("#toggle-camera")!.textContent).toBe("Start video");
    expect(camera.value, "the first camera is offered").toBe("device:usb");
    await choose(camera, "synthetic");
    expect(picked, "picking while video is off opens nothing").toEqual([]);
    await pressCamera(call);
    expect(switched).toEqual([["on", "video", "synthetic"]]);
  });

  it("stops video by letting the camera go, and starts it again with the same camera", async () => {
    const { call, camera, switched } = screen(() => true);
    const model = newCallModel();
    call.update(model);
    await pressCamera(call);
    expect(switched).toEqual([["off", "video"]]);
    model.own.muted.video = true;
    call.update(model);
    await pressCamera(call);
    expect(switched[1]).toEqual(["on", "video", "device:usb"]);
    expect(camera.value).toBe("device:usb");
  });

  it("leaves the microphone open when muting", async () => {
    const { call, switched } = screen(() => true);
    call.update(newCallModel());
    call.root.querySelector<HTMLButtonElement>("#toggle-mic")!.click();
    expect(switched).toEqual([["toggle", "audio"]]);
  });

  it("with a camera that would not open at join, asks for another and switches it on when picked", async () => {
    const { call, camera, picked } = screen(() => true);
    const model = newCallModel();
    const answer = { camera: "none", microphone: "synthetic" };
    joinedWith(model, { camera: "device:usb", microphone: "synthetic" }, answer);
    call.joinedWith(answer);
    call.update(model);
    expect([model.own.muted.video, model.own.lost.has("video")]).toEqual([true, true]);
    expect(camera.value).toBe("");
    await choose(camera, "synthetic");
    expect(picked).toEqual([["camera", "synthetic"]]);
  });

  it("mutes, never switches on, when the device in use disappears from the list before it is reported lost", async () => {
    const { call, switched } = screen(() => true);
    call.update(newCallModel());
    call.setDevices({ ...devices, microphones: [] });
    call.root.querySelector<HTMLButtonElement>("#toggle-mic")!.click();
    expect(switched).toEqual([["toggle", "audio"]]);
  });
});
