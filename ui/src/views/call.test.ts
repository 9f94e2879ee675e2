import { describe, expect, it } from "vitest";
import type { DeviceRole, DevicesView, SourceChoice } from "../backend";
import { applyEvent, newCallModel } from "../model";
import { CallScreen, type CallActions } from "./call";

const devices: DevicesView = {
  cameras: [{ id: "device:usb", label: "USB camera" }, { id: "synthetic", label: "Test pattern" }],
  microphones: [{ id: "synthetic", label: "Test tone" }],
  speakers: [],
  notes: [],
};

function screen(switches: (role: DeviceRole, choice: SourceChoice) => boolean) {
  const picked: [DeviceRole, SourceChoice][] = [];
  const actions = {
    toggleMuted: () => undefined,
    switchDevice: async (role: DeviceRole, choice: SourceChoice) => {
      picked.push([role, choice]);
      return switches(role, choice);
    },
    leave: () => undefined,
    home: () => undefined,
    messagePrivately: () => undefined,
    openConversation: () => undefined,
    send: () => undefined,
    video: { drawing: "canvas", fetch: () => new Promise<ArrayBuffer>(() => undefined) },
  } as CallActions;
  const call = new CallScreen(actions, { camera: "device:usb", microphone: "synthetic", speaker: "none" });
  call.setDevices(devices);
  const camera = call.root.querySelector<HTMLSelectElement>("#call-camera")!;
  return { call, camera, picked };
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
