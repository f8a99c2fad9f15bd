//! A token: finding it by label, logging in, and matching key URIs to it.

use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use cryptoki::context::Pkcs11;
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::object::{Attribute, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;
use zeroize::Zeroizing;

use super::lock;
use super::session::Pool;
use crate::uri::{Pkcs11ObjectType, Pkcs11Uri};
use crate::{KeyError, KeyUri};

/// Identity strings of the module, slot and token, for matching URIs.
#[derive(Debug)]
struct Identity {
    library_manufacturer: String,
    library_description: String,
    library_version: (u8, u8),
    slot_manufacturer: String,
    slot_description: String,
    manufacturer: String,
    model: String,
    serial: String,
}

/// The shared state of a store and its signers.
pub(super) struct Token {
    /// The module path as configured.
    pub(super) module: PathBuf,
    /// The canonical module path: this token's key in the module cache.
    canonical: PathBuf,
    pub(super) label: String,
    pub(super) ctx: Pkcs11,
    pub(super) slot: Slot,
    identity: Identity,
    /// The PIN `C_Login` verified when this token was opened.
    pub(super) pin: Zeroizing<String>,
    /// Holds the login: never used for operations; closed only when the
    /// token is dropped (see [`Drop`]) or found dead after a re-login.
    login_holder: Mutex<Option<Session>>,
    /// Free sessions, and the cap on open ones.
    pub(super) pool: Pool,
    /// Counts re-logins: object handles looked up before one may be stale
    /// (tokens forget or reassign handles of private objects on logout).
    login_epoch: AtomicU64,
    /// Serializes `generate` so the label check and the creation do not race
    /// within this process.
    pub(super) generate_lock: Mutex<()>,
}

impl Drop for Token {
    /// Closes every session under the module cache lock and forgets the
    /// token there, so a store opened meanwhile never meets the sessions of
    /// a dying token (`C_Login` would answer `CKR_USER_ALREADY_LOGGED_IN`).
    fn drop(&mut self) {
        let login = lock(&self.login_holder).take();
        let free = self.pool.drain();
        super::module::forget_token(&self.canonical, &self.label, move || {
            drop(free);
            drop(login);
        });
    }
}

impl Token {
    pub(super) fn p11(&self, operation: &'static str) -> impl Fn(CkError) -> KeyError + '_ {
        move |source| KeyError::Pkcs11 {
            token: self.label.clone(),
            operation,
            source,
        }
    }

    /// Checks that `uri` names this token and returns its PKCS#11 part.
    fn own<'u>(&self, uri: &'u KeyUri) -> Result<&'u Pkcs11Uri, KeyError> {
        let foreign = || KeyError::ForeignUri {
            uri: uri.clone(),
            store: describe(self),
        };
        let KeyUri::Pkcs11(p) = uri else {
            return Err(foreign());
        };
        let id = &self.identity;
        let same = |want: &Option<String>, have: &str| {
            want.as_deref()
                .is_none_or(|w| w.trim_end_matches(' ') == have)
        };
        let version_ok = p.library_version.as_deref().is_none_or(|v| {
            let (major, minor) = v.split_once('.').unwrap_or((v, "0"));
            (major.parse().ok(), minor.parse().ok())
                == (Some(id.library_version.0), Some(id.library_version.1))
        });
        let ok = same(&p.token, &self.label)
            && same(&p.manufacturer, &id.manufacturer)
            && same(&p.model, &id.model)
            && same(&p.serial, &id.serial)
            && same(&p.slot_manufacturer, &id.slot_manufacturer)
            && same(&p.slot_description, &id.slot_description)
            && same(&p.library_manufacturer, &id.library_manufacturer)
            && same(&p.library_description, &id.library_description)
            && p.slot_id.is_none_or(|s| s == self.slot.id())
            && version_ok;
        if ok { Ok(p) } else { Err(foreign()) }
    }

    /// Finds the one private key `uri` names.
    pub(super) fn find_private_key(
        &self,
        session: &Session,
        uri: &KeyUri,
    ) -> Result<ObjectHandle, KeyError> {
        let p = self.own(uri)?;
        if p.object_type
            .is_some_and(|t| t != Pkcs11ObjectType::PrivateKey)
        {
            return Err(KeyError::UnsupportedKey { uri: uri.clone() });
        }
        let mut template = vec![Attribute::Class(ObjectClass::PRIVATE_KEY)];
        if let Some(label) = &p.object {
            template.push(Attribute::Label(label.as_bytes().to_vec()));
        }
        if let Some(id) = &p.id {
            template.push(Attribute::Id(id.clone()));
        }
        let found = session
            .find_objects(&template)
            .map_err(self.p11("C_FindObjects"))?;
        match found.as_slice() {
            [] => Err(KeyError::NotFound { uri: uri.clone() }),
            [one] => Ok(*one),
            _ => Err(KeyError::AmbiguousKey { uri: uri.clone() }),
        }
    }

    /// Finds the token `label` by label and logs in. A login the token did
    /// not check (`CKR_USER_ALREADY_LOGGED_IN`) is refused.
    pub(super) fn open(
        ctx: Pkcs11,
        canonical: PathBuf,
        module: PathBuf,
        label: String,
        pin: Zeroizing<String>,
        max_sessions: NonZeroUsize,
    ) -> Result<Self, KeyError> {
        let p11 = |operation| {
            let token = label.clone();
            move |source| KeyError::Pkcs11 {
                token,
                operation,
                source,
            }
        };

        let mut available = Vec::new();
        let mut matching = Vec::new();
        for slot in ctx.get_slots_with_token().map_err(p11("C_GetSlotList"))? {
            let info = ctx.get_token_info(slot).map_err(p11("C_GetTokenInfo"))?;
            if info.token_initialized() {
                available.push(info.label().to_owned());
            }
            if info.label() == label {
                matching.push((slot, info));
            }
        }
        let (slot, info) = match matching.len() {
            0 => return Err(KeyError::TokenNotFound { label, available }),
            1 => matching.remove(0),
            count => return Err(KeyError::TokenAmbiguous { label, count }),
        };
        let library = ctx.get_library_info().map_err(p11("C_GetInfo"))?;
        let slot_info = ctx.get_slot_info(slot).map_err(p11("C_GetSlotInfo"))?;
        let identity = Identity {
            library_manufacturer: library.manufacturer_id().to_owned(),
            library_description: library.library_description().to_owned(),
            library_version: (
                library.library_version().major(),
                library.library_version().minor(),
            ),
            slot_manufacturer: slot_info.manufacturer_id().to_owned(),
            slot_description: slot_info.slot_description().to_owned(),
            manufacturer: info.manufacturer_id().to_owned(),
            model: info.model().to_owned(),
            serial: info.serial_number().to_owned(),
        };

        // Log in before building the token: a token that fails here is
        // never built, so its Drop (which takes the module cache lock, held
        // by our caller) never runs.
        let login_session = ctx.open_ro_session(slot).map_err(p11("C_OpenSession"))?;
        match login_user(&label, &login_session, &pin)? {
            Login::Verified => {}
            // Someone else's login: the token did not look at our PIN.
            Login::AlreadyLoggedIn => return Err(KeyError::PinUnverifiable { token: label }),
        }
        Ok(Token {
            module,
            canonical,
            label,
            ctx,
            slot,
            identity,
            pin,
            login_holder: Mutex::new(Some(login_session)),
            pool: Pool::new(max_sessions),
            login_epoch: AtomicU64::new(0),
            generate_lock: Mutex::new(()),
        })
    }

    /// How many times the login was restored; see [`Self::relogin`].
    pub(super) fn login_epoch(&self) -> u64 {
        self.login_epoch.load(Ordering::Acquire)
    }

    /// Logs the application in again after the login was lost (an HSM
    /// restart, a `C_Logout` elsewhere in the process), with the PIN
    /// verified at open, and replaces a dead login-holding session.
    pub(super) fn relogin(&self, session: &Session) -> Result<(), KeyError> {
        // "Already logged in" is fine here: another thread got there first,
        // and this PIN was verified when the token was opened.
        login_user(&self.label, session, &self.pin)?;
        self.login_epoch.fetch_add(1, Ordering::AcqRel);
        let mut holder = lock(&self.login_holder);
        if holder
            .as_ref()
            .is_none_or(|s| s.get_session_info().is_err())
        {
            // Best effort: without it the login lasts while pool sessions do.
            *holder = self.ctx.open_ro_session(self.slot).ok();
        }
        Ok(())
    }
}

/// What `C_Login` said.
enum Login {
    /// The token checked the PIN.
    Verified,
    /// The application was logged in already; the PIN was not checked.
    AlreadyLoggedIn,
}

fn login_user(label: &str, session: &Session, pin: &str) -> Result<Login, KeyError> {
    let auth = AuthPin::from(pin);
    match session.login(UserType::User, Some(&auth)) {
        Ok(()) => Ok(Login::Verified),
        Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => Ok(Login::AlreadyLoggedIn),
        Err(
            source @ CkError::Pkcs11(
                RvError::PinIncorrect | RvError::PinLenRange | RvError::PinInvalid,
                _,
            ),
        ) => Err(KeyError::WrongPin {
            token: label.to_owned(),
            source,
        }),
        Err(CkError::Pkcs11(RvError::PinLocked, _)) => Err(KeyError::PinLocked {
            token: label.to_owned(),
        }),
        Err(source) => Err(KeyError::Pkcs11 {
            token: label.to_owned(),
            operation: "C_Login",
            source,
        }),
    }
}

pub(super) fn describe(token: &Token) -> String {
    format!(
        "PKCS#11 token '{}' (module {})",
        token.label,
        token.module.display()
    )
}
