//! `confab-cli serve`: the embedded room server.

use confab_core::RoomName;
use confab_server::{Server, ServerOptions, TakeoverPolicy};
use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use tokio::net::TcpListener;

/// Arguments of `serve`.
#[derive(clap::Args)]
pub(crate) struct ServeArgs {
    /// Address to listen on; others must be able to reach it (default: loopback only).
    #[arg(long, default_value = "127.0.0.1:7878")]
    listen: SocketAddr,
    /// Room to print a link for (repeatable). Without it, one room with a fresh random name.
    #[arg(long = "room")]
    rooms: Vec<String>,
    /// A second session of an identity already in the room: `allow` lets it take over when it
    /// proves the identity, `deny` refuses it.
    #[arg(long, value_enum, default_value = "allow")]
    takeover: Takeover,
    /// Address for media (UDP) when it should not be the --listen address, e.g. to keep
    /// signaling and media on different networks.
    #[arg(long)]
    media_address: Option<IpAddr>,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Takeover {
    Allow,
    Deny,
}

fn fresh_room_name() -> String {
    format!("meeting-{:06x}", rand::random::<u32>() & 0xff_ffff)
}

pub(crate) async fn run(args: ServeArgs) -> Result<(), String> {
    let names = if args.rooms.is_empty() {
        vec![fresh_room_name()]
    } else {
        args.rooms
    };
    let rooms = names
        .iter()
        .map(|name| RoomName::new(name.as_str()).map_err(|e| format!("bad room name '{name}': {e}")))
        .collect::<Result<Vec<_>, _>>()?;
    let listener = TcpListener::bind(args.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    let takeover = match args.takeover {
        Takeover::Allow => TakeoverPolicy::AllowWithProof,
        Takeover::Deny => TakeoverPolicy::Deny,
    };
    let options = ServerOptions {
        takeover,
        media_ip: args.media_address,
    };
    let server = Server::with_options(&listener, options).map_err(|e| e.to_string())?;
    let mut stdout = std::io::stdout().lock();
    for room in &rooms {
        writeln!(stdout, "{}", server.link_for(room)).map_err(|e| e.to_string())?;
    }
    stdout.flush().map_err(|e| e.to_string())?;
    drop(stdout);
    tracing::info!(address = %args.listen, "serving");
    server
        .run(listener, crate::shutdown::signal())
        .await
        .map_err(|e| e.to_string())
}
