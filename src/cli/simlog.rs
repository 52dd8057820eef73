//! The replay log: `tracing` lines stamped with simulated time and the node they happened on.

use std::io::IsTerminal;
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::{FormatEvent, FormatFields, Writer};
use tracing_subscriber::fmt::{FmtContext, FormattedFields};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::EnvFilter;

/// Logs to stdout, each line stamped with simulated time and the node it happened on.
pub fn init_log() {
    // madsim warns that std's HashMap seeds cannot be reset on a reused thread; faultline
    // never iterates a std HashMap, and determinism is tested, so that warning is noise here.
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,madsim=error"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stdout().is_terminal())
        .event_format(SimFormat)
        .with_writer(std::io::stdout)
        .try_init();
}

/// `  1.234567s  INFO n2    message`: simulated seconds since the run started, the level, the
/// node (from madsim's `node` span) or `-` for the supervisor, then the event's fields.
struct SimFormat;

impl<S, N> FormatEvent<S, N> for SimFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut w: Writer<'_>,
        event: &Event<'_>,
    ) -> std::fmt::Result {
        match madsim::time::TimeHandle::try_current() {
            Some(t) => write!(w, "{:>11.6}s ", t.elapsed().as_secs_f64())?,
            None => write!(w, "{:>12} ", "-")?,
        }
        let node = ctx
            .event_scope()
            .and_then(|scope| scope.from_root().find(|span| span.name() == "node"))
            .and_then(|span| span.extensions().get::<FormattedFields<N>>().and_then(|f| node_name(f)))
            .unwrap_or_else(|| "-".to_string());
        write!(w, "{:>5} {node:<4} ", event.metadata().level())?;
        ctx.field_format().format_fields(w.by_ref(), event)?;
        writeln!(w)
    }
}

/// The `name="n2"` field of madsim's node span.
fn node_name(fields: &str) -> Option<String> {
    let rest = &fields[fields.find("name=")? + 5..];
    Some(rest.split_whitespace().next()?.trim_matches('"').to_string())
}
