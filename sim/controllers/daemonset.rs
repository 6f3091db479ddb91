use crate::controllers::{Ctx, WorkloadStatus};
use crate::model::*;

pub fn reconcile(_ctx: &mut Ctx, _id: DaemonSetId) {}

pub fn status(_w: &World, _id: DaemonSetId) -> WorkloadStatus {
    WorkloadStatus::default()
}
