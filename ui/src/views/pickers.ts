// Device pickers, shared by the pre-join screen and the call: their entries follow the device
// list as devices are plugged in or out, keeping the choice while it is still there.
import type { DeviceView } from "../backend";
import { el } from "../dom";

/** Fills `select` with `options` (and "Off"), keeping its choice if that is still offered. */
export function fillPicker(select: HTMLSelectElement, options: DeviceView[], off: boolean): void {
  const kept = select.value;
  const entries = off ? [...options, { id: "none", label: "Off" }] : options;
  select.replaceChildren(...entries.map((option) => el("option", { value: option.id }, option.label)));
  if (entries.some((entry) => entry.id === kept)) select.value = kept;
}
