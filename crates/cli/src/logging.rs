//! Logging setup: `tracing` to stderr, filtered by `RUST_LOG`, with payload dumps removed.
//!
//! tungstenite logs every WebSocket frame's payload at TRACE, and those payloads carry join
//! tokens and chat text. Those events are dropped whatever `RUST_LOG` asks for.

use tracing_subscriber::filter::{filter_fn, EnvFilter};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::Layer;

/// Targets whose TRACE events contain raw signaling payloads.
const PAYLOAD_DUMPING_TARGETS: &[&str] = &["tungstenite", "tokio_tungstenite"];

fn dumps_payloads(metadata: &tracing::Metadata<'_>) -> bool {
    *metadata.level() == tracing::Level::TRACE
        && PAYLOAD_DUMPING_TARGETS
            .iter()
            .any(|t| metadata.target().starts_with(t))
}

/// Installs the global subscriber.
pub(crate) fn init() {
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_filter(EnvFilter::from_default_env())
        .with_filter(filter_fn(|metadata| !dumps_payloads(metadata)));
    tracing_subscriber::registry().with(layer).init();
}
