//! One obs-websocket connection of the simulator: the WebSocket upgrade, Hello, Identify (with
//! authentication), Reidentify, requests and batches, events, and the close codes OBS uses for
//! a misbehaving client.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_util::sync::CancellationToken;

use super::requests::Reply;
use super::state::{ClientEntry, Outgoing, Shared, State};
use super::{FPS, Recorded, close_code, op, random_bytes, status, subscription};

/// Removes the client from the shared state however the connection task ends.
struct ClientGuard {
    shared: Arc<Shared>,
    id: u64,
}

impl Drop for ClientGuard {
    fn drop(&mut self) {
        let mut st = self.shared.lock();
        if st.clients.remove(&self.id).is_some() {
            self.shared.identified.send_replace(st.identified_count());
        }
    }
}

struct Pending {
    due: Instant,
    received: Instant,
    op: u64,
    d: Value,
}

/// One request as the simulator handles it.
struct Call {
    request_type: String,
    request_id: Option<String>,
    data: Value,
    received: Instant,
    in_batch: bool,
}

impl Call {
    /// From a validated Request (op 6) `d` object.
    fn request(d: &Value, received: Instant) -> Call {
        Call {
            request_type: d["requestType"].as_str().unwrap_or_default().to_owned(),
            request_id: d["requestId"].as_str().map(str::to_owned),
            data: d.get("requestData").cloned().unwrap_or(Value::Null),
            received,
            in_batch: false,
        }
    }
}

enum Step {
    Abort,
    Out(Option<Outgoing>),
    Due,
    In(Option<Result<Message, WsError>>),
}

type Close = Option<(u16, String)>;

fn close(code: u16, reason: impl Into<String>) -> Close {
    Some((code, reason.into()))
}

pub(super) async fn serve(shared: Arc<Shared>, stream: TcpStream, cancel: CancellationToken) {
    let _ = stream.set_nodelay(true);
    let ws = tokio::select! {
        () = cancel.cancelled() => return,
        ws = tokio::time::timeout(Duration::from_secs(5), tokio_tungstenite::accept_async(stream)) => ws,
    };
    let Ok(Ok(ws)) = ws else {
        return;
    };
    let (tx, rx) = mpsc::unbounded_channel();
    let (id, hello, expected_auth) = {
        let mut st = shared.lock();
        let id = st.next_client;
        st.next_client += 1;
        st.clients.insert(
            id,
            ClientEntry {
                tx,
                identified: false,
                subscriptions: 0,
                incoming: 0,
                outgoing: 1,
            },
        );
        let mut hello = json!({ "obsWebSocketVersion": st.websocket_version, "rpcVersion": 1 });
        let mut expected_auth = None;
        if let Some(password) = &st.password {
            let challenge = BASE64.encode(random_bytes(32));
            let salt = BASE64.encode(random_bytes(32));
            expected_auth = Some(auth_string(password, &salt, &challenge));
            hello["authentication"] = json!({ "challenge": challenge, "salt": salt });
        }
        (id, hello, expected_auth)
    };
    let _guard = ClientGuard {
        shared: Arc::clone(&shared),
        id,
    };
    let mut conn = Conn {
        shared,
        id,
        ws,
        rx,
        cancel,
        identified: false,
        expected_auth,
        pending: VecDeque::new(),
    };
    let hello = json!({ "op": op::HELLO, "d": hello }).to_string();
    if conn.send(Message::text(hello)).await {
        conn.run().await;
    }
}

/// The obs-websocket authentication string:
/// `base64(sha256(base64(sha256(password + salt)) + challenge))`.
pub fn auth_string(password: &str, salt: &str, challenge: &str) -> String {
    let secret = BASE64.encode(Sha256::digest(format!("{password}{salt}")));
    BASE64.encode(Sha256::digest(format!("{secret}{challenge}")))
}

async fn sleep_until_opt(due: Option<Instant>) {
    match due {
        Some(due) => tokio::time::sleep_until(due).await,
        None => std::future::pending().await,
    }
}

struct Conn {
    shared: Arc<Shared>,
    id: u64,
    ws: WebSocketStream<TcpStream>,
    rx: mpsc::UnboundedReceiver<Outgoing>,
    cancel: CancellationToken,
    identified: bool,
    expected_auth: Option<String>,
    pending: VecDeque<Pending>,
}

impl Conn {
    async fn run(&mut self) {
        loop {
            let due = self.pending.front().map(|p| p.due);
            let step = tokio::select! {
                biased;
                () = self.cancel.cancelled() => Step::Abort,
                out = self.rx.recv() => Step::Out(out),
                () = sleep_until_opt(due) => Step::Due,
                msg = self.ws.next() => Step::In(msg),
            };
            let close = match step {
                Step::Abort | Step::Out(None) | Step::In(None | Some(Err(_))) => return,
                Step::Out(Some(Outgoing::Text(text))) => {
                    if !self.send(Message::text(text)).await {
                        return;
                    }
                    None
                }
                Step::Out(Some(Outgoing::Close(code, reason))) => Some((code, reason)),
                Step::Due => match self.pending.pop_front() {
                    Some(pending) if pending.op == op::REQUEST_BATCH => {
                        self.process_batch(pending).await
                    }
                    Some(pending) => {
                        self.process_request(&pending);
                        None
                    }
                    None => None,
                },
                Step::In(Some(Ok(msg))) => self.on_message(msg),
            };
            if let Some((code, reason)) = close {
                self.close_and_linger(code, &reason).await;
                return;
            }
        }
    }

    /// Sends one frame; `false` when the socket is gone or the simulator is stopping.
    async fn send(&mut self, msg: Message) -> bool {
        tokio::select! {
            () = self.cancel.cancelled() => false,
            sent = self.ws.send(msg) => sent.is_ok(),
        }
    }

    async fn close_and_linger(&mut self, code: u16, reason: &str) {
        let frame = CloseFrame {
            code: CloseCode::from(code),
            reason: reason.into(),
        };
        if !self.send(Message::Close(Some(frame))).await {
            return;
        }
        // Wait for the client's close reply (or the socket end) so the close handshake
        // completes cleanly, but never for long.
        let ws = &mut self.ws;
        let drain = async move { while let Some(Ok(_)) = ws.next().await {} };
        tokio::select! {
            () = self.cancel.cancelled() => {}
            _ = tokio::time::timeout(Duration::from_secs(2), drain) => {}
        }
    }

    fn on_message(&mut self, msg: Message) -> Close {
        match msg {
            Message::Text(text) => self.on_text(text.as_str()),
            Message::Binary(_) => close(
                close_code::MESSAGE_DECODE_ERROR,
                "Binary messages are not supported with the JSON encoding.",
            ),
            // Pings are answered by tungstenite; a Close is answered on the next read.
            _ => None,
        }
    }

    fn on_text(&mut self, text: &str) -> Close {
        let now = Instant::now();
        let delay = {
            let mut st = self.shared.lock();
            if let Some(client) = st.clients.get_mut(&self.id) {
                client.incoming += 1;
            }
            st.script.delay
        };
        let Ok(message) = serde_json::from_str::<Value>(text) else {
            return close(
                close_code::MESSAGE_DECODE_ERROR,
                "Unable to decode the message as JSON.",
            );
        };
        let Some(op) = message.get("op") else {
            return close(
                close_code::MISSING_DATA_FIELD,
                "Your request is missing an `op`.",
            );
        };
        let Some(op) = op.as_u64() else {
            return close(
                close_code::INVALID_DATA_FIELD_TYPE,
                "Your `op` is not a number.",
            );
        };
        let Some(d) = message.get("d").filter(|d| d.is_object()).cloned() else {
            return close(
                close_code::MISSING_DATA_FIELD,
                "Your request is missing a `d` object.",
            );
        };
        if !self.identified {
            return if op == op::IDENTIFY {
                self.identify(&d)
            } else {
                close(
                    close_code::NOT_IDENTIFIED,
                    "You attempted to send a non-Identify message while not identified.",
                )
            };
        }
        match op {
            op::IDENTIFY => close(
                close_code::ALREADY_IDENTIFIED,
                "You are already Identified with the obs-websocket server.",
            ),
            op::REIDENTIFY => self.reidentify(&d),
            op::REQUEST | op::REQUEST_BATCH => {
                if !d.get("requestId").is_some_and(Value::is_string) {
                    return close(
                        close_code::MISSING_DATA_FIELD,
                        "Your request is missing a `requestId` string.",
                    );
                }
                if op == op::REQUEST && !d.get("requestType").is_some_and(Value::is_string) {
                    return close(
                        close_code::MISSING_DATA_FIELD,
                        "Your request is missing a `requestType` string.",
                    );
                }
                if op == op::REQUEST_BATCH && !d.get("requests").is_some_and(Value::is_array) {
                    return close(
                        close_code::MISSING_DATA_FIELD,
                        "Your request batch is missing a `requests` array.",
                    );
                }
                if op == op::REQUEST {
                    let call = Call::request(&d, now);
                    if delay.is_zero() && self.pending.is_empty() {
                        // Answer at once: recorded, state changed and answer queued under one
                        // lock, so `wait_for_request` sees the new state.
                        self.answer(&call, false, true);
                        return None;
                    }
                    // Delayed: recorded now (a test can see it arrived), answered when due.
                    let mut st = self.shared.lock();
                    self.record(&mut st, &call);
                }
                self.pending.push_back(Pending {
                    due: now + delay,
                    received: now,
                    op,
                    d,
                });
                None
            }
            _ => close(close_code::UNKNOWN_OP_CODE, format!("Unknown OpCode: {op}")),
        }
    }

    fn subscriptions(d: &Value) -> Result<u32, Close> {
        match d.get("eventSubscriptions") {
            None | Some(Value::Null) => Ok(subscription::ALL),
            Some(value) => value
                .as_u64()
                .and_then(|v| u32::try_from(v).ok())
                .ok_or_else(|| {
                    close(
                        close_code::INVALID_DATA_FIELD_TYPE,
                        "Your `eventSubscriptions` is not a number.",
                    )
                }),
        }
    }

    fn identify(&mut self, d: &Value) -> Close {
        let Some(rpc) = d.get("rpcVersion") else {
            return close(
                close_code::MISSING_DATA_FIELD,
                "Your payload's data is missing an `rpcVersion`.",
            );
        };
        let Some(rpc) = rpc.as_u64() else {
            return close(
                close_code::INVALID_DATA_FIELD_TYPE,
                "Your `rpcVersion` is not a number.",
            );
        };
        if rpc != 1 {
            return close(
                close_code::UNSUPPORTED_RPC_VERSION,
                format!("Requested an unsupported RPC version: {rpc}"),
            );
        }
        let subscriptions = match Self::subscriptions(d) {
            Ok(subscriptions) => subscriptions,
            Err(close) => return close,
        };
        let sent = d.get("authentication").and_then(Value::as_str);
        let auth_ok = match &self.expected_auth {
            None => true,
            Some(expected) => sent == Some(expected.as_str()),
        };
        let mut st = self.shared.lock();
        if st.script.refuse_auth || !auth_ok {
            return close(close_code::AUTHENTICATION_FAILED, "Authentication failed.");
        }
        let Some(client) = st.clients.get_mut(&self.id) else {
            // drop_connections raced with Identify: the task is about to end anyway.
            return None;
        };
        client.identified = true;
        client.subscriptions = subscriptions;
        st.send_to(
            self.id,
            op::IDENTIFIED,
            json!({ "negotiatedRpcVersion": 1 }),
        );
        self.shared.identified.send_replace(st.identified_count());
        self.identified = true;
        None
    }

    fn reidentify(&mut self, d: &Value) -> Close {
        let subscriptions = match Self::subscriptions(d) {
            Ok(subscriptions) => subscriptions,
            Err(close) => return close,
        };
        let mut st = self.shared.lock();
        if let Some(client) = st.clients.get_mut(&self.id) {
            client.subscriptions = subscriptions;
        }
        st.send_to(
            self.id,
            op::IDENTIFIED,
            json!({ "negotiatedRpcVersion": 1 }),
        );
        None
    }

    /// Records a request (under the lock) and wakes `wait_for_request`.
    fn record(&self, st: &mut State, call: &Call) {
        st.requests.push(Recorded {
            request_type: call.request_type.clone(),
            data: call.data.clone(),
            received: call.received,
            connection: self.id,
            in_batch: call.in_batch,
        });
        self.shared.requests_seen.send_replace(st.requests.len());
    }

    /// Handles one request under the lock: records it unless it already was, queues its answer
    /// (when `send`) then its events. Returns the RequestResponse `d` object and success.
    fn answer(&self, call: &Call, already_recorded: bool, send: bool) -> (Value, bool) {
        let mut st = self.shared.lock();
        let reply = if call.request_type == "Sleep" {
            Reply::err(
                status::UNSUPPORTED_REQUEST_BATCH_EXECUTION_TYPE,
                "Sleep is only available in request batches.",
            )
        } else {
            st.handle(self.id, &call.request_type, &call.data)
        };
        let response = reply.response_json(&call.request_type, call.request_id.as_deref());
        if send {
            st.send_to(self.id, op::REQUEST_RESPONSE, response.clone());
        }
        for event in &reply.events {
            st.emit(event);
        }
        if !already_recorded {
            self.record(&mut st, call);
        }
        (response, reply.code == status::SUCCESS)
    }

    fn process_request(&mut self, pending: &Pending) {
        let call = Call::request(&pending.d, pending.received);
        self.answer(&call, true, true);
    }

    async fn process_batch(&mut self, pending: Pending) -> Close {
        let halt_on_failure = pending.d["haltOnFailure"].as_bool().unwrap_or(false);
        let requests = pending.d["requests"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let mut results = Vec::with_capacity(requests.len());
        for request in requests {
            let call = Call {
                request_type: request["requestType"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                request_id: request["requestId"].as_str().map(str::to_owned),
                data: request.get("requestData").cloned().unwrap_or(Value::Null),
                received: pending.received,
                in_batch: true,
            };
            let (result, ok) = match call.request_type.as_str() {
                "" => {
                    let reply = Reply::err(
                        status::MISSING_REQUEST_TYPE,
                        "Your request is missing a `requestType`.",
                    );
                    (reply.response_json("", call.request_id.as_deref()), false)
                }
                "Sleep" => {
                    let data = &call.data;
                    let millis = data["sleepMillis"]
                        .as_u64()
                        .unwrap_or_else(|| data["sleepFrames"].as_u64().unwrap_or(0) * 1000 / FPS);
                    tokio::select! {
                        () = self.cancel.cancelled() => return None,
                        () = tokio::time::sleep(Duration::from_millis(millis.min(50_000))) => {}
                    }
                    let mut st = self.shared.lock();
                    self.record(&mut st, &call);
                    (
                        Reply::ok().response_json("Sleep", call.request_id.as_deref()),
                        true,
                    )
                }
                _ => self.answer(&call, false, false),
            };
            results.push(result);
            if halt_on_failure && !ok {
                break;
            }
        }
        let mut st = self.shared.lock();
        st.send_to(
            self.id,
            op::REQUEST_BATCH_RESPONSE,
            json!({ "requestId": pending.d["requestId"], "results": results }),
        );
        None
    }
}
