//! `confab-cli join`: join, talk, leave cleanly, report.

use crate::report::Report;
use confab_core::{ConversationId, JoinLink, PrivateMembers};
use confab_engine::{Call, CallCommand, CallConfig, CallEvent, Identity, PeerConfig};
use confab_media::devices::camera::Camera;
use confab_media::devices::microphone::Microphone;
use confab_media::pattern::TestPattern;
use confab_media::tone::Tone;
use confab_media::{AudioSource, VideoSource};
use std::time::Duration;

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum VideoChoice {
    Synthetic,
    Camera,
    None,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum AudioChoice {
    Synthetic,
    Mic,
    None,
}

/// Arguments of `join`.
#[derive(clap::Args)]
pub(crate) struct JoinArgs {
    /// The join link: confab://host:port/room?token=…, a WHIP/WHEP link (whip+https://…, whep+https://…),
    /// a Janus link (janus+wss://…#room=N) or a PeerJS link (peerjs+https://…#room=NAME).
    link: String,
    /// Display name.
    #[arg(long)]
    name: String,
    /// Video source.
    #[arg(long, value_enum, default_value = "synthetic")]
    video: VideoChoice,
    /// Audio source.
    #[arg(long, value_enum, default_value = "synthetic")]
    audio: AudioChoice,
    /// Synthetic video size, WIDTHxHEIGHT.
    #[arg(long, default_value = "1280x720", value_parser = parse_size)]
    size: (usize, usize),
    /// Synthetic video frame rate.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=60))]
    fps: u32,
    /// Seconds to stay; without it, stay until the room ends or SIGINT/SIGTERM.
    #[arg(long)]
    duration: Option<f64>,
    /// Public chat message to send after joining (repeatable).
    #[arg(long = "say")]
    say: Vec<String>,
    /// Private message to the participant named NAME, as NAME=TEXT (repeatable). Sealed end to
    /// end; never falls back to public.
    #[arg(long = "whisper", value_parser = parse_whisper)]
    whisper: Vec<(String, String)>,
    /// Seconds after joining before the --say and --whisper messages go out.
    #[arg(long, default_value_t = 0.0)]
    after: f64,
    /// Keep the identity in this file (created if missing), so another session with the same
    /// file — on another machine, or after a crash — takes this one's place in the room.
    #[arg(long)]
    identity_file: Option<std::path::PathBuf>,
    /// Address for media (UDP) sockets; without it, the address that reaches the server.
    #[arg(long)]
    media_address: Option<std::net::IpAddr>,
    /// Where to write the JSON report (`-` for stdout).
    #[arg(long)]
    report: Option<String>,
}

fn parse_whisper(text: &str) -> Result<(String, String), String> {
    let (name, message) = text
        .split_once('=')
        .ok_or_else(|| "expected NAME=TEXT".to_owned())?;
    if name.trim().is_empty() {
        return Err("the NAME in NAME=TEXT is empty".into());
    }
    Ok((name.trim().to_owned(), message.to_owned()))
}

fn parse_size(text: &str) -> Result<(usize, usize), String> {
    let (w, h) = text
        .split_once(['x', 'X'])
        .ok_or_else(|| format!("'{text}' is not WIDTHxHEIGHT"))?;
    let w = w.parse().map_err(|_| format!("bad width in '{text}'"))?;
    let h = h.parse().map_err(|_| format!("bad height in '{text}'"))?;
    Ok((w, h))
}

/// The first camera this computer has, at the size and rate asked for (or the closest it offers).
fn first_camera(size: (usize, usize), fps: u32) -> Result<Camera, String> {
    let cameras =
        confab_media::devices::camera::list().map_err(|e| format!("cameras could not be listed: {e}"))?;
    let first = cameras.first().ok_or("no camera found")?;
    let want = (
        u32::try_from(size.0).unwrap_or(1280),
        u32::try_from(size.1).unwrap_or(720),
        fps,
    );
    Camera::open(&first.id, want).map_err(|e| e.to_string())
}

pub(crate) async fn run(args: JoinArgs) -> Result<(), String> {
    let link = JoinLink::parse(&args.link).map_err(|e| format!("bad link: {e}"))?;
    let mut notes = Vec::new();
    let video: Option<Box<dyn VideoSource>> = match args.video {
        VideoChoice::Synthetic => Some(Box::new(
            TestPattern::new(args.size.0, args.size.1, args.fps).map_err(|e| e.to_string())?,
        )),
        VideoChoice::Camera => match first_camera(args.size, args.fps) {
            Ok(camera) => Some(Box::new(camera)),
            Err(e) => {
                notes.push(format!("camera: {e}; joined without video"));
                None
            }
        },
        VideoChoice::None => None,
    };
    let audio: Option<Box<dyn AudioSource>> = match args.audio {
        AudioChoice::Synthetic => Some(Box::new(Tone::new(440.0))),
        AudioChoice::Mic => match Microphone::open(None) {
            Ok(microphone) => Some(Box::new(microphone)),
            Err(e) => {
                notes.push(format!("microphone: {e}; joined without audio"));
                None
            }
        },
        AudioChoice::None => None,
    };
    for note in &notes {
        eprintln!("confab-cli: {note}");
    }
    let identity = match &args.identity_file {
        Some(path) => Some(Identity::load_or_create(path).map_err(|e| e.to_string())?),
        None => None,
    };
    tracing::info!(link = %link.redacted(), "joining");
    let name = args.name;
    let (call, mut events) = Call::start(CallConfig {
        link,
        name: name.clone(),
        video,
        audio,
        muted: Vec::new(),
        peer: args.media_address.map(PeerConfig::bound_to),
        identity,
        media_out: None,
    });

    let joined = loop {
        match events.recv().await {
            Some(CallEvent::Joined { .. }) => break Ok(()),
            Some(CallEvent::Ended { error, .. }) => {
                break Err(error.map_or_else(
                    || "the call ended before the join finished".to_owned(),
                    |e| e.to_string(),
                ))
            }
            Some(_) => {}
            None => break Err("the call ended before the join finished".to_owned()),
        }
    };
    if let Err(message) = joined {
        let snapshot = call.finished().await;
        if let Some(target) = &args.report {
            Report::new(snapshot, &name, notes).write(target)?;
        }
        return Err(message);
    }
    let started = tokio::time::Instant::now();
    let messages = async {
        tokio::time::sleep(Duration::from_secs_f64(args.after.max(0.0))).await;
        for text in args.say {
            call.command(CallCommand::SendChat {
                conversation: ConversationId::Public,
                text,
            });
        }
        for (name, text) in args.whisper {
            match private_with(&call, &name).await {
                Some(conversation) => call.command(CallCommand::SendChat { conversation, text }),
                None => notes.push(format!(
                    "whisper to {name} not sent: no one by that name is in the room"
                )),
            }
        }
    };
    let stay = async {
        messages.await;
        let until = args
            .duration
            .map(|seconds| started + Duration::from_secs_f64(seconds.max(0.0)));
        match until {
            Some(until) => tokio::time::sleep_until(until).await,
            None => std::future::pending().await,
        }
    };
    let room_ended = async {
        while let Some(event) = events.recv().await {
            if let CallEvent::Ended { .. } = event {
                return;
            }
        }
    };
    tokio::select! {
        () = stay => {}
        () = crate::shutdown::signal() => {}
        () = room_ended => {}
    }
    let snapshot = call.leave().await;
    if let Some(target) = &args.report {
        Report::new(snapshot, &name, notes).write(target)?;
    }
    Ok(())
}

/// The private conversation between us and the present participant called `name`.
async fn private_with(call: &Call, name: &str) -> Option<ConversationId> {
    let snapshot = call.snapshot().await?;
    let them = snapshot
        .participants
        .iter()
        .rev()
        .find(|p| p.name == name && p.left.is_none())?;
    let members = PrivateMembers::new([snapshot.identity?, them.identity.clone()]).ok()?;
    Some(ConversationId::Private(members))
}
