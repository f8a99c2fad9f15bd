//! Keys on a PKCS#11 token (SoftHSM2, network HSMs), through cryptoki.
//!
//! * The module is loaded and `C_Initialize`d once per process, with
//!   `CKF_OS_LOCKING_OK` (see [`MODULES`]).
//! * The token is found by **label**: slot ids are not stable (SoftHSM2
//!   renumbers the slot when a token is initialized).
//! * The store logs in as the user once, on a session it keeps open for its
//!   whole life (PKCS#11 logs the application out when its last session on
//!   the token closes). Operations borrow sessions from a free-list
//!   (`Mutex<Vec<Session>>`, sessions opened on demand and returned after
//!   use): cryptoki's `Session` is `Send` but not `Sync`, and this lets N
//!   threads sign at once.
//! * Signing hashes in software (SHA-256 / SHA-384) and asks the token for
//!   `CKM_ECDSA` over the digest (SoftHSM2 has no `CKM_ECDSA_SHA256`); the
//!   raw `r ‖ s` is DER-encoded for X.509.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError, Weak};

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Function, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;
use der::Decode as _;
use hallmark_pki::{KeyAlgorithm, SignError, Signer};
use zeroize::Zeroizing;

use crate::encoding::{Curve, ec_point_from_attribute, ec_spki_der, ecdsa_raw_to_der};
use crate::uri::{Pkcs11ObjectType, Pkcs11Uri};
use crate::{KeyAttributes, KeyError, KeyLabel, KeyProtection, KeyStore, KeyUri};

/// How to reach a token.
pub struct Pkcs11Config {
    /// Path of the PKCS#11 module (`libsofthsm2.so`, a vendor library).
    pub module: PathBuf,
    /// `CKA_LABEL` of the token (`CK_TOKEN_INFO.label`).
    pub token_label: String,
    /// The user PIN.
    pub pin: Zeroizing<String>,
}

impl fmt::Debug for Pkcs11Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pkcs11Config")
            .field("module", &self.module)
            .field("token_label", &self.token_label)
            .field("pin", &"<redacted>")
            .finish()
    }
}

/// Loaded and initialized PKCS#11 modules, keyed by canonical path, with
/// the tokens this process is logged in to.
///
/// This is the crate's one global, and it has to be one: a PKCS#11 module's
/// state is per *process*. `C_Initialize` may be called once per module per
/// process (a second call fails with `CKR_CRYPTOKI_ALREADY_INITIALIZED`),
/// and `C_Finalize` tears down every session of every user of the module in
/// the process. Login state is per process and token too: while one store
/// is logged in, `C_Login` answers `CKR_USER_ALREADY_LOGGED_IN` *without
/// checking the PIN*. So key stores on the same module share one context,
/// and stores on the same token share one `Token` (login, session pool);
/// opening a token already logged in checks the PIN against the one that
/// logged it in. Modules are never finalized: they live until the process
/// exits.
static MODULES: OnceLock<Mutex<HashMap<PathBuf, Module>>> = OnceLock::new();

/// One loaded module and the tokens live stores are logged in to.
struct Module {
    ctx: Pkcs11,
    tokens: HashMap<String, Weak<Token>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // The guarded data (a map, a free-list of sessions) stays consistent
    // even if a holder panicked.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Loads the module and `C_Initialize`s it with `CKF_OS_LOCKING_OK`.
///
/// OS locking is not optional: SoftHSM2 initialized without it corrupted
/// its heap and emptied the token's object file when two threads signed
/// at once.
fn load_module(path: &Path, canonical: &Path) -> Result<Pkcs11, KeyError> {
    let err = |source: Box<dyn std::error::Error + Send + Sync>| KeyError::ModuleLoad {
        path: path.to_owned(),
        source,
    };
    let ctx = Pkcs11::new(canonical).map_err(|e| err(Box::new(e)))?;
    match ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        // Already initialized by other code in this process (not through
        // this cache): usable, but its locking flags are not ours to choose.
        Ok(()) | Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => Ok(ctx),
        Err(e) => Err(err(Box::new(e))),
    }
}

/// Compares two PINs in time independent of where they differ.
fn same_pin(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Keys on one PKCS#11 token.
#[derive(Clone)]
pub struct Pkcs11KeyStore {
    token: Arc<Token>,
}

impl fmt::Debug for Pkcs11KeyStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pkcs11KeyStore")
            .field("module", &self.token.module)
            .field("token", &self.token.label)
            .finish_non_exhaustive()
    }
}

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
struct Token {
    module: PathBuf,
    label: String,
    ctx: Pkcs11,
    slot: Slot,
    identity: Identity,
    pin: Zeroizing<String>,
    /// Holds the login: never used for operations, never closed.
    _login: Mutex<Session>,
    /// Free sessions.
    pool: Mutex<Vec<Session>>,
    /// Serializes `generate` so the label check and the creation do not race
    /// within this process.
    generate_lock: Mutex<()>,
}

/// A session borrowed from the pool; returned on drop unless discarded.
struct PooledSession<'t> {
    token: &'t Token,
    session: Option<Session>,
}

impl PooledSession<'_> {
    fn get(&self) -> &Session {
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
    fn p11(&self, operation: &'static str) -> impl Fn(CkError) -> KeyError + '_ {
        move |source| KeyError::Pkcs11 {
            token: self.label.clone(),
            operation,
            source,
        }
    }

    fn session(&self) -> Result<PooledSession<'_>, KeyError> {
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
    fn with_session<R>(
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
    fn find_private_key(&self, session: &Session, uri: &KeyUri) -> Result<ObjectHandle, KeyError> {
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

    /// Opens a signer: finds the private key, its curve and its public key.
    fn open_signer(self: &Arc<Self>, uri: &KeyUri) -> Result<Pkcs11Signer, KeyError> {
        let session = self.session()?;
        let s = session.get();
        let key = self.find_private_key(s, uri)?;
        let attrs = s
            .get_attributes(
                key,
                &[
                    AttributeType::KeyType,
                    AttributeType::EcParams,
                    AttributeType::Id,
                ],
            )
            .map_err(self.p11("C_GetAttributeValue"))?;
        let (mut key_type, mut params, mut id) = (None, None, None);
        for attr in attrs {
            match attr {
                Attribute::KeyType(t) => key_type = Some(t),
                Attribute::EcParams(p) => params = Some(p),
                Attribute::Id(i) => id = Some(i),
                _ => {}
            }
        }
        let unsupported = || KeyError::UnsupportedKey { uri: uri.clone() };
        if key_type != Some(KeyType::EC) {
            return Err(unsupported());
        }
        let params = params.ok_or_else(unsupported)?;
        let curve = const_oid::ObjectIdentifier::from_der(&params)
            .ok()
            .and_then(Curve::from_oid)
            .ok_or_else(unsupported)?;

        // The public half: the EC public key object with the same CKA_ID
        // (the PKCS#11 convention linking the halves of a pair).
        let mut template = vec![
            Attribute::Class(ObjectClass::PUBLIC_KEY),
            Attribute::KeyType(KeyType::EC),
            Attribute::EcParams(params.clone()),
        ];
        match id {
            Some(id) if !id.is_empty() => template.push(Attribute::Id(id)),
            _ => {
                let Some(label) = uri.label() else {
                    return Err(KeyError::PublicKeyNotFound { uri: uri.clone() });
                };
                template.push(Attribute::Label(label.as_bytes().to_vec()));
            }
        }
        let public = s
            .find_objects(&template)
            .map_err(self.p11("C_FindObjects"))?;
        let [public] = public.as_slice() else {
            return Err(KeyError::PublicKeyNotFound { uri: uri.clone() });
        };
        let point = s
            .get_attributes(*public, &[AttributeType::EcPoint])
            .map_err(self.p11("C_GetAttributeValue"))?
            .into_iter()
            .find_map(|a| match a {
                Attribute::EcPoint(p) => Some(p),
                _ => None,
            })
            .ok_or_else(|| KeyError::PublicKeyNotFound { uri: uri.clone() })?;
        let bad = |source| KeyError::BadPublicKey {
            uri: uri.clone(),
            source,
        };
        let point = ec_point_from_attribute(&point, curve).map_err(bad)?;
        let spki = ec_spki_der(curve, &point).map_err(bad)?;
        drop(session);

        Ok(Pkcs11Signer {
            token: Arc::clone(self),
            uri: uri.clone(),
            key,
            curve,
            spki,
        })
    }
}

impl Token {
    /// Finds the token `label` by label and logs in.
    fn open(
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

fn login(token: &Token, session: &Session) -> Result<(), KeyError> {
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

fn describe(token: &Token) -> String {
    format!(
        "PKCS#11 token '{}' (module {})",
        token.label,
        token.module.display()
    )
}

impl Pkcs11KeyStore {
    /// Loads the module (once per process), finds the token by label and
    /// logs in as the user.
    ///
    /// # Errors
    ///
    /// [`KeyError::ModuleLoad`] (missing or unloadable module),
    /// [`KeyError::TokenNotFound`] (with the labels present),
    /// [`KeyError::TokenAmbiguous`], [`KeyError::WrongPin`],
    /// [`KeyError::PinLocked`], [`KeyError::Pkcs11`].
    pub fn open(config: Pkcs11Config) -> Result<Self, KeyError> {
        let Pkcs11Config {
            module,
            token_label,
            pin,
        } = config;
        let canonical = std::fs::canonicalize(&module).map_err(|e| KeyError::ModuleLoad {
            path: module.clone(),
            source: Box::new(e),
        })?;
        let label = token_label.trim_end_matches(' ').to_owned();

        // Held for the whole open: loading, token lookup and login happen
        // one at a time.
        let mut modules = lock(MODULES.get_or_init(Default::default));
        let entry = match modules.entry(canonical) {
            Entry::Occupied(entry) => entry.into_mut(),
            Entry::Vacant(entry) => {
                let ctx = load_module(&module, entry.key())?;
                entry.insert(Module {
                    ctx,
                    tokens: HashMap::new(),
                })
            }
        };

        if let Some(token) = entry.tokens.get(&label).and_then(Weak::upgrade) {
            // Logged in already by another store of this process: C_Login
            // would not check the PIN, so compare with the one that worked.
            if !same_pin(&pin, &token.pin) {
                return Err(KeyError::WrongPin {
                    token: label,
                    source: CkError::Pkcs11(RvError::PinIncorrect, Function::Login),
                });
            }
            return Ok(Self { token });
        }

        let token = Arc::new(Token::open(entry.ctx.clone(), module, label, pin)?);
        entry
            .tokens
            .insert(token.label.clone(), Arc::downgrade(&token));
        Ok(Self { token })
    }

    /// The token's label.
    pub fn token_label(&self) -> &str {
        &self.token.label
    }

    /// The module path as configured.
    pub fn module_path(&self) -> &Path {
        &self.token.module
    }
}

impl KeyStore for Pkcs11KeyStore {
    fn generate(&self, label: &str, alg: KeyAlgorithm) -> Result<KeyUri, KeyError> {
        let label = KeyLabel::new(label)?;
        let token = &self.token;
        let uri = KeyUri::pkcs11_private_key(&token.label, label.as_str());
        let curve = Curve::from_algorithm(alg).ok_or(KeyError::UnsupportedAlgorithm {
            alg,
            backend: "PKCS#11",
        })?;
        let params = curve
            .ec_params_der()
            .map_err(|source| KeyError::BadPublicKey {
                uri: uri.clone(),
                source,
            })?;
        let mut id = vec![0u8; 16];
        getrandom::fill(&mut id).map_err(|e| KeyError::Io {
            path: PathBuf::from("getrandom"),
            source: std::io::Error::other(e),
        })?;
        let label_bytes = label.as_str().as_bytes().to_vec();

        let _serial = lock(&token.generate_lock);
        let session = token.session()?;
        let s = session.get();
        // Refuse any object (key, certificate, data) already using the label.
        let existing = s
            .find_objects(&[Attribute::Label(label_bytes.clone())])
            .map_err(token.p11("C_FindObjects"))?;
        if !existing.is_empty() {
            return Err(KeyError::AlreadyExists { uri });
        }
        let public = [
            Attribute::Token(true),
            Attribute::Private(false),
            Attribute::Verify(true),
            Attribute::EcParams(params),
            Attribute::Label(label_bytes.clone()),
            Attribute::Id(id.clone()),
        ];
        let private = [
            Attribute::Token(true),
            Attribute::Private(true),
            Attribute::Sensitive(true),
            Attribute::Extractable(false),
            Attribute::Sign(true),
            Attribute::Derive(false),
            Attribute::Label(label_bytes),
            Attribute::Id(id),
        ];
        s.generate_key_pair(&Mechanism::EccKeyPairGen, &public, &private)
            .map_err(token.p11("C_GenerateKeyPair"))?;
        Ok(uri)
    }

    fn signer(&self, uri: &KeyUri) -> Result<Arc<dyn Signer>, KeyError> {
        Ok(Arc::new(self.token.open_signer(uri)?))
    }

    fn describe(&self) -> String {
        describe(&self.token)
    }
}

impl KeyAttributes for Pkcs11KeyStore {
    /// Reads `CKA_SENSITIVE`, `CKA_EXTRACTABLE`, `CKA_NEVER_EXTRACTABLE` and
    /// `CKA_ALWAYS_SENSITIVE` of the private key. An attribute the token does
    /// not report counts as the unsafe value.
    fn protection(&self, uri: &KeyUri) -> Result<KeyProtection, KeyError> {
        let token = &self.token;
        let session = token.session()?;
        let s = session.get();
        let key = token.find_private_key(s, uri)?;
        let attrs = s
            .get_attributes(
                key,
                &[
                    AttributeType::Sensitive,
                    AttributeType::Extractable,
                    AttributeType::NeverExtractable,
                    AttributeType::AlwaysSensitive,
                ],
            )
            .map_err(token.p11("C_GetAttributeValue"))?;
        let mut protection = KeyProtection {
            sensitive: false,
            extractable: true,
            never_extractable: false,
            always_sensitive: false,
        };
        for attr in attrs {
            match attr {
                Attribute::Sensitive(v) => protection.sensitive = v,
                Attribute::Extractable(v) => protection.extractable = v,
                Attribute::NeverExtractable(v) => protection.never_extractable = v,
                Attribute::AlwaysSensitive(v) => protection.always_sensitive = v,
                _ => {}
            }
        }
        Ok(protection)
    }
}

/// A private key on the token; signs through the store's session pool.
struct Pkcs11Signer {
    token: Arc<Token>,
    uri: KeyUri,
    key: ObjectHandle,
    curve: Curve,
    spki: Vec<u8>,
}

impl fmt::Debug for Pkcs11Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pkcs11Signer")
            .field("uri", &self.uri)
            .field("curve", &self.curve)
            .finish_non_exhaustive()
    }
}

impl Signer for Pkcs11Signer {
    fn algorithm(&self) -> KeyAlgorithm {
        self.curve.algorithm()
    }

    fn public_key_der(&self) -> &[u8] {
        &self.spki
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignError> {
        let digest_alg = match self.curve {
            Curve::P256 => &aws_lc_rs::digest::SHA256,
            Curve::P384 => &aws_lc_rs::digest::SHA384,
        };
        let digest = aws_lc_rs::digest::digest(digest_alg, message);
        let raw = self
            .token
            .with_session("C_Sign", |s| {
                s.sign(&Mechanism::Ecdsa, self.key, digest.as_ref())
            })
            .map_err(SignError::new)?;
        ecdsa_raw_to_der(&raw, self.curve).map_err(SignError::new)
    }
}
