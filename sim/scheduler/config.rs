//! KubeSchedulerConfiguration (kubescheduler.config.k8s.io/v1) files.
//! (Loader in progress.)

use std::path::Path;

use crate::engine::Time;
use crate::error::Error;
use crate::scheduler::profiles::Profile;

pub struct Config {
    pub profiles: Vec<Profile>,
    pub initial_backoff: Time,
    pub max_backoff: Time,
}

pub fn load(path: &Path, shown: &str) -> Result<Config, Error> {
    Err(Error::Usage(format!(
        "{shown}: KubeSchedulerConfiguration files are not supported yet ({})",
        path.display()
    )))
}
