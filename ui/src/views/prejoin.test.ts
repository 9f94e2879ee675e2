import { describe, expect, it } from "vitest";
import { fillPicker } from "./pickers";
import { meterPercent } from "./prejoin";

describe("device pickers", () => {
  it("keep the chosen device when the list changes and it is still there", () => {
    const select = document.createElement("select");
    fillPicker(select, [{ id: "device:a", label: "A" }, { id: "device:b", label: "B" }, { id: "synthetic", label: "Test pattern" }], true);
    select.value = "device:b";
    fillPicker(select, [{ id: "device:b", label: "B" }, { id: "synthetic", label: "Test pattern" }], true);
    expect(select.value).toBe("device:b");
    expect([...select.options].map((o) => o.value)).toEqual(["device:b", "synthetic", "none"]);
  });

  it("fall back to the first entry when the chosen device was unplugged", () => {
    const select = document.createElement("select");
    fillPicker(select, [{ id: "device:usb", label: "USB" }, { id: "synthetic", label: "Test pattern" }], true);
    fillPicker(select, [{ id: "synthetic", label: "Test pattern" }], true);
    expect(select.value).toBe("synthetic");
  });
});

describe("level meter", () => {
  it("spans 60 dB: silence is empty, full scale is full, -30 dBFS is half", () => {
    expect(meterPercent(0)).toBe(0);
    expect(meterPercent(1)).toBe(100);
    expect(meterPercent(10 ** (-30 / 20))).toBeCloseTo(50);
    expect(meterPercent(1e-6)).toBe(0);
  });
});
