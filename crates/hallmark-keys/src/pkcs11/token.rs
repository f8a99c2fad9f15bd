//! A token: finding it by label, logging in, and matching key URIs to it.

use std::path::PathBuf;
use std::sync::Mutex;

use cryptoki::context::Pkcs11;
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::object::{Attribute, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;
use zeroize::Zeroizing;

use super::lock;
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
    pub(super) module: PathBuf,
    pub(super) label: String,
    pub(super) ctx: Pkcs11,
    pub(super) slot: Slot,
    identity: Identity,
    pub(super) pin: Zeroizing<String>,
    /// Holds the login: never used for operations, never closed.
    _login: Mutex<Session>,
    /// Free sessions.
    pub(super) pool: Mutex<Vec<Session>>,
    /// Serializes `generate` so the label check and the creation do not race
    /// within this process.
    pub(super) generate_lock: Mutex<()>,
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

    /// Finds the token `label` by label and logs in.
    pub(super) fn open(
        ctx: Pkcs11,
        module: PathBuf,
        label: String,
        pin: Zeroizing<String>,
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

        let login_session = ctx.open_rw_session(slot).map_err(p11("C_OpenSession"))?;
        let token = Token {
            module,
            label,
            ctx,
            slot,
            identity,
            pin,
            _login: Mutex::new(login_session),
            pool: Mutex::new(Vec::new()),
            generate_lock: Mutex::new(()),
        };
        login(&token, &lock(&token._login))?;
        Ok(token)
    }
}

pub(super) fn login(token: &Token, session: &Session) -> Result<(), KeyError> {
    let pin = AuthPin::from(token.pin.as_str());
    match session.login(UserType::User, Some(&pin)) {
        Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => Ok(()),
        Err(
            source @ CkError::Pkcs11(
                RvError::PinIncorrect | RvError::PinLenRange | RvError::PinInvalid,
                _,
            ),
        ) => Err(KeyError::WrongPin {
            token: token.label.clone(),
            source,
        }),
        Err(CkError::Pkcs11(RvError::PinLocked, _)) => Err(KeyError::PinLocked {
            token: token.label.clone(),
        }),
        Err(source) => Err(KeyError::Pkcs11 {
            token: token.label.clone(),
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
