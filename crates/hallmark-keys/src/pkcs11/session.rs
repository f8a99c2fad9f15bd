//! The session pool: sessions borrowed from a free-list and returned after
//! use, so many threads can work on the token at once.

use cryptoki::error::{Error as CkError, RvError};
use cryptoki::session::Session;

use super::lock;
use super::token::{Token, login};
use crate::KeyError;

/// A session borrowed from the pool; returned on drop unless discarded.
pub(super) struct PooledSession<'t> {
    token: &'t Token,
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

    /// Drops the session instead of returning it (it is broken).
    fn discard(mut self) {
        self.session = None;
    }
}

impl Drop for PooledSession<'_> {
    fn drop(&mut self) {
        if let Some(session) = self.session.take() {
            lock(&self.token.pool).push(session);
        }
    }
}

/// Errors after which a session is not worth keeping.
fn session_broken(err: &CkError) -> bool {
    matches!(
        err,
        CkError::Pkcs11(
            RvError::SessionHandleInvalid
                | RvError::SessionClosed
                | RvError::DeviceRemoved
                | RvError::DeviceError
                | RvError::TokenNotPresent
                | RvError::OperationActive,
            _
        )
    )
}

impl Token {
    pub(super) fn session(&self) -> Result<PooledSession<'_>, KeyError> {
        let free = lock(&self.pool).pop();
        let session = match free {
            Some(session) => session,
            None => self
                .ctx
                .open_rw_session(self.slot)
                .map_err(self.p11("C_OpenSession"))?,
        };
        Ok(PooledSession {
            token: self,
            session: Some(session),
        })
    }

    /// Runs `op` on a pooled session. A session the token reports broken is
    /// dropped, and a lost login (`CKR_USER_NOT_LOGGED_IN`, e.g. after an
    /// HSM restarted) is restored once.
    pub(super) fn with_session<R>(
        &self,
        operation: &'static str,
        op: impl Fn(&Session) -> Result<R, CkError>,
    ) -> Result<R, KeyError> {
        let session = self.session()?;
        let mut result = op(session.get());
        if let Err(CkError::Pkcs11(RvError::UserNotLoggedIn, _)) = result {
            login(self, session.get())?;
            result = op(session.get());
        }
        match result {
            Ok(value) => Ok(value),
            Err(e) => {
                if session_broken(&e) {
                    session.discard();
                }
                Err(self.p11(operation)(e))
            }
        }
    }
}
