//! [`DeviceLink`]: the station's end of one device's byte stream (TCP),
//! one request at a time (`docs/device-protocol.md` §3.5).

use std::time::Duration;

use hallmark_protocol::{
    FrameDecoder, MAX_FRAME_LEN, PROTOCOL_VERSION, ProtocolError, Request, Response,
};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// Why a request got no answer.
#[derive(Debug)]
pub(crate) enum LinkError {
    /// The connection could not be made.
    Connect(String),
    /// The device closed or reset the connection.
    Lost,
    /// No answer in time, after every attempt.
    Timeout,
    /// The request could not be encoded, or the answer not decoded.
    Protocol(String),
}

/// A response frame, owned: its `TYPE` and payload.
#[derive(Debug)]
pub(crate) struct Answer {
    msg_type: u8,
    payload: Vec<u8>,
}

impl Answer {
    /// The response it carries.
    pub(crate) fn response(&self) -> Result<Response<'_>, LinkError> {
        Response::decode(self.msg_type, &self.payload)
            .map_err(|e| LinkError::Protocol(format!("undecodable answer: {e}")))
    }
}

/// A connection to one device.
#[derive(Debug)]
pub(crate) struct DeviceLink {
    stream: TcpStream,
    decoder: Box<FrameDecoder>,
    seq: u16,
    version: u8,
}

/// Attempts per request when the device does not answer in time (the
/// specification suggests up to 3).
const ATTEMPTS: u32 = 2;

impl DeviceLink {
    /// Connects to `address` (`tcp://HOST:PORT` or `HOST:PORT`).
    pub(crate) async fn connect(address: &str, timeout: Duration) -> Result<Self, LinkError> {
        let target = address.strip_prefix("tcp://").unwrap_or(address);
        let stream = match tokio::time::timeout(timeout, TcpStream::connect(target)).await {
            Ok(Ok(stream)) => stream,
            Ok(Err(e)) => return Err(LinkError::Connect(e.to_string())),
            Err(_) => return Err(LinkError::Connect("connection timed out".into())),
        };
        let _ = stream.set_nodelay(true);
        Ok(Self {
            stream,
            decoder: Box::new(FrameDecoder::new()),
            seq: 0,
            version: PROTOCOL_VERSION,
        })
    }

    /// Sends `request` and waits for its answer (ignoring frames with
    /// another `SEQ`); resends with a new `SEQ` when none comes in `timeout`.
    pub(crate) async fn call(
        &mut self,
        request: &Request<'_>,
        timeout: Duration,
    ) -> Result<Answer, LinkError> {
        // Zeroized on drop: an IMPORT_KEY frame carries a private key.
        let mut frame = zeroize::Zeroizing::new(vec![0u8; MAX_FRAME_LEN]);
        for _ in 0..ATTEMPTS {
            self.seq = self.seq.wrapping_add(1);
            let n = request
                .encode_frame(self.version, self.seq, &mut frame)
                .map_err(|e: ProtocolError| LinkError::Protocol(format!("cannot encode: {e}")))?;
            self.stream
                .write_all(&frame[..n])
                .await
                .map_err(|_| LinkError::Lost)?;
            match tokio::time::timeout(timeout, self.answer(self.seq)).await {
                Ok(answer) => return answer,
                Err(_) => continue,
            }
        }
        Err(LinkError::Timeout)
    }

    async fn answer(&mut self, seq: u16) -> Result<Answer, LinkError> {
        let mut buf = [0u8; 4096];
        let mut pending: Vec<u8> = Vec::new();
        loop {
            while let Some(event) = self.decoder.next_event() {
                if let Ok(frame) = event
                    && frame.seq == seq
                {
                    return Ok(Answer {
                        msg_type: frame.msg_type,
                        payload: frame.payload.to_vec(),
                    });
                }
            }
            if pending.is_empty() {
                let n = self
                    .stream
                    .read(&mut buf)
                    .await
                    .map_err(|_| LinkError::Lost)?;
                if n == 0 {
                    return Err(LinkError::Lost);
                }
                pending.extend_from_slice(&buf[..n]);
            }
            let used = self.decoder.fill(&pending);
            pending.drain(..used);
        }
    }
}
