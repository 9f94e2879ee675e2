//! The app's command line: `confab [LINK] [--meeting-address IP] [--settings-dir DIR]`.

use std::net::IpAddr;
use std::path::PathBuf;

/// What the app was started with.
#[derive(Debug, Clone, Default)]
pub struct LaunchOptions {
    /// A link to open at start (`confab LINK`, or the OS handing over a clicked link).
    pub link: Option<String>,
    /// The address "New meeting on this computer" serves on; without it, this computer's
    /// address on its local network.
    pub meeting_address: Option<IpAddr>,
    /// Where settings (the remembered display name) are kept; without it, the OS's config dir.
    pub settings_dir: Option<PathBuf>,
}

impl LaunchOptions {
    /// Parses the arguments after the program name.
    pub fn from_args(args: impl IntoIterator<Item = String>) -> Result<Self, String> {
        let mut options = Self::default();
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--meeting-address" => {
                    let value = args.next().ok_or("--meeting-address needs an IP address")?;
                    let ip = value
                        .parse()
                        .map_err(|_| format!("--meeting-address: '{value}' is not an IP address"))?;
                    options.meeting_address = Some(ip);
                }
                "--settings-dir" => {
                    let value = args.next().ok_or("--settings-dir needs a folder")?;
                    options.settings_dir = Some(PathBuf::from(value));
                }
                flag if flag.starts_with("--") => return Err(format!("unknown option {flag}")),
                link => options.link = Some(link.to_owned()),
            }
        }
        Ok(options)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<LaunchOptions, String> {
        LaunchOptions::from_args(args.iter().map(|a| a.to_string()))
    }

    #[test]
    fn a_link_and_options_in_any_order() {
        let options = parse(&["--meeting-address", "127.0.0.1", "confab://h/r?token=t"]).unwrap();
        assert_eq!(options.link.as_deref(), Some("confab://h/r?token=t"));
        assert_eq!(options.meeting_address, Some("127.0.0.1".parse().unwrap()));
    }

    #[test]
    fn bad_options_say_what_is_wrong() {
        assert!(parse(&["--meeting-address", "here"])
            .unwrap_err()
            .contains("not an IP"));
        assert!(parse(&["--meeting-address"]).unwrap_err().contains("needs"));
        assert!(parse(&["--fast"]).unwrap_err().contains("unknown option --fast"));
    }
}
