//! Generates the Tauri context (config, capabilities, icons) and checks the built UI exists.

fn main() {
    tauri_build::build();
}
