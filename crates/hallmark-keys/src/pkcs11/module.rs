//! The process-wide cache of loaded PKCS#11 modules and the tokens this
//! process is logged in to.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, Weak};

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Function, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use zeroize::Zeroizing;

use super::lock;
use super::token::Token;
use crate::KeyError;

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
) -> Result<Arc<Token>, KeyError> {
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
        return Ok(token);
    }

    let token = Arc::new(Token::open(entry.ctx.clone(), module, label, pin)?);
    entry
        .tokens
        .insert(token.label.clone(), Arc::downgrade(&token));
    Ok(token)
}
