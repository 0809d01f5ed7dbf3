//! Overlay alerts: `alert test <kind>` sends the real alert of that kind to every connected
//! overlay. Parsing lives in `commands::overlay`; the fan-out in `alerts`.

use crate::alerts::OverlayAlert;
use crate::context::Context;
use crate::dispatch::Invoker;
use crate::reply::{Reply, keys};
use commands::overlay::OverlayCommand;

pub(crate) async fn handle_command(
    ctx: &Context,
    alerts: &crate::alerts::Alerts,
    _invoker: &Invoker,
    cmd: OverlayCommand,
) -> anyhow::Result<Reply> {
    let OverlayCommand::Test(kind) = cmd;
    let clients = alerts.clients();
    alerts.publish(&OverlayAlert::test(kind, &ctx.i18n, alerts.locale()));
    Ok(if clients == 0 {
        Reply::new(keys::ALERT_TEST_NO_OVERLAY).arg("kind", kind.as_str())
    } else {
        Reply::new(keys::ALERT_TEST_SENT)
            .arg("kind", kind.as_str())
            .number("clients", clients as f64)
    })
}
