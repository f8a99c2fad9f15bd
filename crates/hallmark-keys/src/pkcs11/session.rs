//! The session pool: sessions borrowed from free-lists and returned after
//! use, so many threads can work on the token at once, with a cap on how
//! many are open (callers beyond it wait for a free one).
//!
//! Sessions are read-only unless an operation writes token objects
//! (generation): signing and lookups never hold a read-write session.

use std::num::NonZeroUsize;
use std::sync::{Condvar, Mutex, PoisonError};

use cryptoki::error::{Error as CkError, RvError};
use cryptoki::session::{Session, SessionState};

use super::lock;
use super::token::Token;
use crate::KeyError;

/// Whether an operation needs a read-write session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Access {
    /// Lookups, attribute reads, signing.
    ReadOnly,
    /// Creating or destroying token objects.
    ReadWrite,
}

/// Free sessions of both kinds and the count of open ones.
pub(super) struct Pool {
    state: Mutex<PoolState>,
    /// Signalled when a session is returned or closed.
    freed: Condvar,
    max: usize,
}

#[derive(Default)]
struct PoolState {
    read_only: Vec<Session>,
    read_write: Vec<Session>,
    /// Sessions open: free ones plus borrowed ones.
    open: usize,
    /// The most ever open at once.
    peak: usize,
}

/// How a borrower gets its session.
enum Take {
    /// A free session of the right kind.
    Free(Session),
    /// A new session, within the cap.
    Open,
    /// A new session in place of a free one of the other kind (closed).
    Replace(Session),
}

impl Pool {
    pub(super) fn new(max: NonZeroUsize) -> Self {
        Self {
            state: Mutex::new(PoolState::default()),
            freed: Condvar::new(),
            max: max.get(),
        }
    }

    /// Takes every free session out, for the caller to close.
    pub(super) fn drain(&self) -> Vec<Session> {
        let mut state = lock(&self.state);
        let mut all = std::mem::take(&mut state.read_only);
        all.append(&mut state.read_write);
        state.open -= all.len();
        drop(state);
        self.freed.notify_all();
        all
    }

    /// The cap on open sessions.
    #[cfg(test)]
    pub(super) fn max(&self) -> usize {
        self.max
    }

    /// The most sessions ever open at once.
    #[cfg(test)]
    pub(super) fn peak(&self) -> usize {
        lock(&self.state).peak
    }

    /// States of the free read-only and read-write sessions.
    #[cfg(test)]
    pub(super) fn free_states(&self) -> (Vec<SessionState>, Vec<SessionState>) {
        let state = lock(&self.state);
        let states = |sessions: &[Session]| {
            sessions
                .iter()
                .filter_map(|s| s.get_session_info().ok())
                .map(|i| i.session_state())
                .collect()
        };
        (states(&state.read_only), states(&state.read_write))
    }

    /// Waits for a session of `access` (or room to open one).
    fn take(&self, access: Access) -> Take {
        let mut state = lock(&self.state);
        loop {
            let st = &mut *state;
            let (mine, other) = match access {
                Access::ReadOnly => (&mut st.read_only, &mut st.read_write),
                Access::ReadWrite => (&mut st.read_write, &mut st.read_only),
            };
            if let Some(session) = mine.pop() {
                return Take::Free(session);
            }
            if st.open < self.max {
                st.open += 1;
                st.peak = st.peak.max(st.open);
                return Take::Open;
            }
            if let Some(session) = other.pop() {
                return Take::Replace(session);
            }
            state = self
                .freed
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// A borrowed session was closed or never opened: its place is free.
    fn forget_one(&self) {
        lock(&self.state).open -= 1;
        self.freed.notify_one();
    }
}

/// A session borrowed from the pool; returned on drop unless discarded.
pub(super) struct PooledSession<'t> {
    token: &'t Token,
    access: Access,
    session: Option<Session>,
}

impl PooledSession<'_> {
    pub(super) fn get(&self) -> &Session {
        // Only `discard`/`drop` take the session out, and both consume or
        // end the guard.
        self.session
            .as_ref()
            .unwrap_or_else(|| unreachable!("pooled session used after discard"))
    }

    /// Closes the session instead of returning it (it is broken).
    fn discard(mut self) {
        drop(self.session.take());
        self.token.pool.forget_one();
    }
}

impl Drop for PooledSession<'_> {
    fn drop(&mut self) {
        if let Some(session) = self.session.take() {
            let pool = &self.token.pool;
            let mut state = lock(&pool.state);
            match self.access {
                Access::ReadOnly => state.read_only.push(session),
                Access::ReadWrite => state.read_write.push(session),
            }
            drop(state);
            pool.freed.notify_one();
        }
    }
}

/// The `CKR_*` code of a PKCS#11 failure.
pub(super) fn return_value(err: &KeyError) -> Option<RvError> {
    match err {
        KeyError::Pkcs11 {
            source: CkError::Pkcs11(rv, _),
            ..
        } => Some(*rv),
        _ => None,
    }
}

/// Errors after which a session is not worth keeping.
fn session_broken(err: &KeyError) -> bool {
    matches!(
        return_value(err),
        Some(
            RvError::SessionHandleInvalid
                | RvError::SessionClosed
                | RvError::DeviceRemoved
                | RvError::DeviceError
                | RvError::TokenNotPresent
                | RvError::OperationActive
        )
    )
}

/// The token does not know the session (closed, or the token restarted).
fn session_gone(err: &KeyError) -> bool {
    matches!(
        return_value(err),
        Some(RvError::SessionHandleInvalid | RvError::SessionClosed)
    )
}

impl Token {
    /// Borrows a session, waiting while the pool is at its cap.
    fn session(&self, access: Access) -> Result<PooledSession<'_>, KeyError> {
        let session = match self.pool.take(access) {
            Take::Free(session) => session,
            Take::Open => self.open_session(access)?,
            Take::Replace(idle) => {
                // Close the idle session of the other kind first: its place
                // in the cap is ours.
                drop(idle);
                self.open_session(access)?
            }
        };
        Ok(PooledSession {
            token: self,
            access,
            session: Some(session),
        })
    }

    /// Opens a session in a place the pool reserved.
    fn open_session(&self, access: Access) -> Result<Session, KeyError> {
        let opened = match access {
            Access::ReadOnly => self.ctx.open_ro_session(self.slot),
            Access::ReadWrite => self.ctx.open_rw_session(self.slot),
        };
        opened.map_err(|e| {
            self.pool.forget_one();
            self.p11("C_OpenSession")(e)
        })
    }

    /// Whether the session is logged in as the user (an unreadable state
    /// counts as logged in: nothing to restore).
    fn logged_in(session: &Session) -> bool {
        match session.get_session_info() {
            Ok(info) => matches!(
                info.session_state(),
                SessionState::RoUser | SessionState::RwUser
            ),
            Err(_) => true,
        }
    }

    /// Runs `op` on a pooled session: every token operation goes through
    /// here. On failure, a session the token reports broken is closed (and
    /// `op` retried once on a fresh one if the token did not know the
    /// session); a lost login (an HSM restart, a
    /// `C_Logout` elsewhere in the process: private objects vanish from a
    /// logged-out session, so lookups say NotFound) is restored once and
    /// `op` retried.
    pub(super) fn with_session<R>(
        &self,
        access: Access,
        op: impl Fn(&Session) -> Result<R, KeyError>,
    ) -> Result<R, KeyError> {
        let (mut reopened, mut relogged) = (false, false);
        loop {
            let session = self.session(access)?;
            let err = match op(session.get()) {
                Ok(value) => return Ok(value),
                Err(err) => err,
            };
            if session_broken(&err) {
                session.discard();
                // Retry only when the token refused the session itself: the
                // operation never ran, so running it again cannot repeat it
                // (a device error may strike halfway through a generation).
                if reopened || !session_gone(&err) {
                    return Err(err);
                }
                reopened = true;
                // The token forgot this session: it likely restarted and
                // forgot the idle ones too. Close them; retry on a new one.
                drop(self.pool.drain());
            } else if !relogged && !Self::logged_in(session.get()) {
                relogged = true;
                self.relogin(session.get())?;
            } else {
                return Err(err);
            }
        }
    }
}
