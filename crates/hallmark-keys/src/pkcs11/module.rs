//! The process-wide cache of loaded PKCS#11 modules and the tokens this
//! process is logged in to.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, OnceLock, PoisonError, Weak};

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Function, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use zeroize::Zeroizing;

use super::lock;
use super::token::Token;
use crate::KeyError;

/// Loaded and initialized PKCS#11 modules, keyed by canonical path, with
/// the tokens this process is logged in to, and a condition variable
/// signalled when a dropped token has closed its sessions.
///
/// This is the crate's one global, and it has to be one: a PKCS#11 module's
/// state is per *process*. `C_Initialize` may be called once per module per
/// process (a second call fails with `CKR_CRYPTOKI_ALREADY_INITIALIZED`),
/// and `C_Finalize` tears down every session of every user of the module in
/// the process. Login state is per process and token too: while logged in,
/// `C_Login` answers `CKR_USER_ALREADY_LOGGED_IN` *without checking the
/// PIN*. So key stores on the same module share one context, and stores on
/// the same token share one `Token` (login, session pool); opening a token
/// already logged in through this cache checks the PIN against the one
/// `C_Login` verified. A login this cache does not know about (another
/// library in the process, another path to the same module) cannot be
/// checked: [`Token::open`] refuses it ([`KeyError::PinUnverifiable`]).
/// A dropped token closes its sessions (ending its login) and leaves the
/// cache under the lock, so an open never sees a half-dropped token's login.
/// Modules are never finalized: they live until the process exits.
static MODULES: OnceLock<(Mutex<HashMap<PathBuf, Module>>, Condvar)> = OnceLock::new();

fn modules() -> &'static (Mutex<HashMap<PathBuf, Module>>, Condvar) {
    MODULES.get_or_init(Default::default)
}

/// One loaded module and the tokens live stores are logged in to.
struct Module {
    ctx: Pkcs11,
    tokens: HashMap<String, Weak<Token>>,
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

/// The token `token_label` on `module`, shared with live stores of this
/// process already logged in to it (after checking the PIN), or found and
/// logged in to afresh (loading the module first if needed).
pub(super) fn open_token(
    module: PathBuf,
    token_label: String,
    pin: Zeroizing<String>,
    max_sessions: NonZeroUsize,
) -> Result<Arc<Token>, KeyError> {
    let canonical = std::fs::canonicalize(&module).map_err(|e| KeyError::ModuleLoad {
        path: module.clone(),
        source: Box::new(e),
    })?;
    let label = token_label.trim_end_matches(' ').to_owned();

    // Held for the whole open: loading, token lookup and login happen
    // one at a time.
    let (mutex, dropped) = modules();
    let mut cache = lock(mutex);
    loop {
        let known = cache
            .get(&canonical)
            .and_then(|m| m.tokens.get(&label))
            .map(Weak::upgrade);
        match known {
            None => break,
            Some(Some(token)) => {
                // `token` may be the last strong reference (its other holder
                // just let go), and Token::drop takes this lock: release it
                // before `token` can drop.
                drop(cache);
                // Logged in already by a store of this process: C_Login
                // would not check the PIN, so compare with the one that
                // C_Login verified.
                if !same_pin(&pin, &token.pin) {
                    return Err(KeyError::WrongPin {
                        token: label,
                        source: CkError::Pkcs11(RvError::PinIncorrect, Function::Login),
                    });
                }
                return Ok(token);
            }
            // Dropped, but its Drop is still waiting for this lock to close
            // its sessions (and so end its login): wait for it.
            Some(None) => cache = dropped.wait(cache).unwrap_or_else(PoisonError::into_inner),
        }
    }

    let entry = match cache.entry(canonical.clone()) {
        Entry::Occupied(entry) => entry.into_mut(),
        Entry::Vacant(entry) => {
            let ctx = load_module(&module, entry.key())?;
            entry.insert(Module {
                ctx,
                tokens: HashMap::new(),
            })
        }
    };
    let token = Arc::new(Token::open(
        entry.ctx.clone(),
        canonical,
        module,
        label,
        pin,
        max_sessions,
    )?);
    entry
        .tokens
        .insert(token.label.clone(), Arc::downgrade(&token));
    Ok(token)
}

/// Runs `close` (closing a dropped token's sessions) under the cache lock,
/// then forgets the token and wakes opens waiting for it.
pub(super) fn forget_token(canonical: &Path, label: &str, close: impl FnOnce()) {
    let (mutex, dropped) = modules();
    let mut cache = lock(mutex);
    close();
    if let Some(module) = cache.get_mut(canonical) {
        // Only a dead entry: while one is present no new token for the
        // label is made, so it is the one being dropped.
        if module
            .tokens
            .get(label)
            .is_some_and(|weak| weak.strong_count() == 0)
        {
            module.tokens.remove(label);
        }
    }
    drop(cache);
    dropped.notify_all();
}
