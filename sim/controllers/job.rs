use crate::controllers::{Ctx, WorkloadStatus};
use crate::model::*;

pub fn reconcile(_ctx: &mut Ctx, _id: JobId) {}

pub fn status(_w: &World, _id: JobId) -> WorkloadStatus {
    WorkloadStatus::default()
}
