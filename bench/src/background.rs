//! Servers and the proxy run on runtimes of their own, on threads of their
//! own, so that the clients being measured keep the main runtime to
//! themselves. Dropping a [`Background`] stops its runtime and joins it.

use std::future::Future;
use std::thread::JoinHandle;

use tokio::sync::oneshot;

/// A future running on a dedicated multi-threaded tokio runtime.
pub struct Background {
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Background {
    /// Runs `task()` on a new runtime with `workers` threads named `name`,
    /// until the task ends or the returned value is dropped; all of its
    /// threads on core `pin` when given.
    pub fn spawn<F, Fut>(
        name: &str,
        workers: usize,
        pin: Option<usize>,
        task: F,
    ) -> anyhow::Result<Self>
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = ()> + 'static,
    {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers)
            .thread_name(name)
            .on_thread_start(move || pin_to(pin))
            .enable_all()
            .build()?;
        let (stop, stopped) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name(name.to_string())
            .spawn(move || {
                pin_to(pin);
                runtime.block_on(async move {
                    tokio::select! {
                        () = task() => {}
                        _ = stopped => {}
                    }
                });
                // Dropping the runtime here cancels every task it spawned.
            })?;
        Ok(Self {
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

/// Pins the calling thread to core `core` (an index into the cores this
/// process may use), when given and when the platform allows it.
pub fn pin_to(core: Option<usize>) {
    let Some(core) = core else { return };
    if let Some(id) = core_affinity::get_core_ids().and_then(|ids| ids.get(core).copied()) {
        core_affinity::set_for_current(id);
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
