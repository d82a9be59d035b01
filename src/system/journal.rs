//! A tracing layer that writes events to the systemd journal through
//! systemd-journal-logger, turning event and span fields into journal fields.
//!
//! `tracing::info!(torrent_id = id, event = "added", "Sintel")` becomes a journal
//! entry with `MESSAGE=Sintel event=added`, `TORRENT_ID=<id>`, `EVENT=added`,
//! `PRIORITY=5`, `SYSLOG_IDENTIFIER=swarmcast` and the code location, so
//! `journalctl -u swarmcast TORRENT_ID=<id>` finds one torrent's lines.

use std::fmt::Write as _;

use systemd_journal_logger::JournalLog;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

/// Sends every event to the journal.
pub struct JournalLayer {
    log: JournalLog,
}

impl JournalLayer {
    /// Connects to the journal's socket.
    pub fn new() -> std::io::Result<Self> {
        let log = JournalLog::new()?.with_syslog_identifier("swarmcast".to_string());
        Ok(Self { log })
    }
}

/// The fields of an event or a span, in order, with the message apart.
#[derive(Default)]
pub(crate) struct Fields {
    pub message: String,
    pub pairs: Vec<(String, String)>,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, value.to_string());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.put(field, format!("{value:?}"));
    }
}

impl Fields {
    fn put(&mut self, field: &Field, value: String) {
        if field.name() == "message" {
            self.message = value;
        } else {
            self.pairs.push((field.name().to_string(), value));
        }
    }

    /// The text shown by `journalctl`: the message, then the fields that are not
    /// identifiers (those stay as journal fields only, to keep lines short).
    pub fn readable_message(&self) -> String {
        let mut out = self.message.clone();
        for (k, v) in &self.pairs {
            if k.ends_with("_id") || k == "id" {
                continue;
            }
            let _ = write!(out, "{}{k}={v}", if out.is_empty() { "" } else { " " });
        }
        out
    }
}

/// The span fields kept in each span's extensions, for the events inside it.
struct SpanFields(Vec<(String, String)>);

fn log_level(level: &Level) -> log::Level {
    match *level {
        Level::ERROR => log::Level::Error,
        Level::WARN => log::Level::Warn,
        Level::INFO => log::Level::Info,
        Level::DEBUG => log::Level::Debug,
        Level::TRACE => log::Level::Trace,
    }
}

impl<S> tracing_subscriber::Layer<S> for JournalLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &tracing::span::Attributes<'_>, id: &tracing::span::Id, ctx: Context<'_, S>) {
        let mut fields = Fields::default();
        attrs.record(&mut fields);
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(SpanFields(fields.pairs));
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let mut fields = Fields::default();
        event.record(&mut fields);
        let mut pairs: Vec<(String, String)> = Vec::new();
        if let Some(scope) = ctx.event_scope(event) {
            for span in scope.from_root() {
                if let Some(f) = span.extensions().get::<SpanFields>() {
                    // The span "task" carries `name`: make it TASK so it cannot clash.
                    pairs.extend(f.0.iter().map(|(k, v)| {
                        let key = if k == "name" { span.name().to_string() } else { k.clone() };
                        (key, v.clone())
                    }));
                }
            }
        }
        pairs.extend(fields.pairs.iter().cloned());
        let meta = event.metadata();
        let message = fields.readable_message();
        let kvs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let _ = self.log.journal_send(
            &log::Record::builder()
                .args(format_args!("{message}"))
                .level(log_level(meta.level()))
                .target(meta.target())
                .module_path(meta.module_path())
                .file(meta.file())
                .line(meta.line())
                .key_values(&kvs)
                .build(),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing_subscriber::layer::SubscriberExt;

    /// Collects what the layer's visitor sees, through a real subscriber.
    struct Capture(std::sync::Arc<std::sync::Mutex<Vec<String>>>);
    impl<S: Subscriber> tracing_subscriber::Layer<S> for Capture {
        fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
            let mut f = Fields::default();
            event.record(&mut f);
            let keys: Vec<String> = f.pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
            self.0.lock().unwrap().push(format!("{} | {}", f.readable_message(), keys.join(",")));
        }
    }

    #[test]
    fn identifiers_become_fields_and_stay_out_of_the_message() {
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let sub = tracing_subscriber::registry().with(Capture(seen.clone()));
        tracing::subscriber::with_default(sub, || {
            tracing::info!(torrent_id = "abc", event = "added", "Sintel");
            tracing::warn!(stream_id = 7, "encoder failed: {}", "v4l2h264enc");
        });
        let seen = seen.lock().unwrap();
        assert_eq!(seen[0], "Sintel event=added | torrent_id=abc,event=added");
        assert_eq!(seen[1], "encoder failed: v4l2h264enc | stream_id=7");
    }
}
