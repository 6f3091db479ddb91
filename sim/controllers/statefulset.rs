use crate::controllers::{Ctx, WorkloadStatus};
use crate::model::*;

pub fn reconcile(_ctx: &mut Ctx, _id: StatefulSetId) {}

pub fn status(_w: &World, _id: StatefulSetId) -> WorkloadStatus {
    WorkloadStatus::default()
}
