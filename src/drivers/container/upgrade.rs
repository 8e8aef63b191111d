//! Upgrade and rollback: start recreates a container whose image or
//! configuration changed and keeps the old one as `<name>.prev`; rollback
//! swaps them back. Both mend what an svcfs killed between their renames
//! left.

use super::{settle, short_id, ContainerDriver, ImageInfo, Observed};
use crate::actionlog::ResourceLog;
use crate::error::{Error, Result};
use std::time::Instant;

impl ContainerDriver {
    pub(super) fn prev_name(&self) -> String {
        format!("{}.prev", self.name)
    }

    /// Where a rollback parks the current container while the previous
    /// one takes its name.
    pub(super) fn parking_name(&self) -> String {
        format!("{}.rollback", self.name)
    }

    /// A rollback cut short (svcfs killed between its renames) left the
    /// current container parked: put it back where it belongs, so that
    /// the pair is whole again before anything else is done to it. Parked
    /// before the previous one moved: it is still current. Parked after:
    /// it is the previous one now, as the rollback meant. The id of the
    /// current container when it was the rollback that got finished.
    pub(super) async fn finish_interrupted_rollback(
        &self,
        log: &ResourceLog,
    ) -> Result<Option<String>> {
        let parking = self.parking_name();
        let Some(parked) = self.inspect_owned(&parking).await? else {
            return Ok(None);
        };
        let (back_to, finished) = match (
            self.inspect_owned(&self.name).await?,
            self.inspect_owned(&self.prev_name()).await?,
        ) {
            (None, _) => (self.name.clone(), None),
            (Some(current), None) => (self.prev_name(), Some(current.id)),
            (Some(_), Some(_)) => {
                log.warn(format!(
                    "{parking} is left from a rollback that did not end, beside both {} and {}: remove it or rename it",
                    self.name,
                    self.prev_name()
                ));
                return Ok(None);
            }
        };
        log.info(format!(
            "a rollback did not end (svcfs stopped during it): {parking} goes back as {back_to}"
        ));
        self.rename(&parked.id, &back_to, log).await?;
        Ok(finished)
    }

    /// The upgrade the tutorial did in six manual steps: stop the old
    /// container, keep it as `<name>.prev` (replacing an older one), create
    /// the new one from `run_image`.
    pub(super) async fn recreate(
        &self,
        old: &Observed,
        wanted: &ImageInfo,
        log: &ResourceLog,
    ) -> Result<String> {
        let old_image = self
            .image(&old.image_id)
            .await
            .ok()
            .flatten()
            .map_or_else(|| short_id(&old.image_id).to_string(), |i| i.display_name());
        let why = if old.image_id != wanted.id {
            format!(
                "the current container is based on image {old_image} instead of {}",
                self.spec.run_image
            )
        } else {
            "the current container was created with another run_command or run_args".to_string()
        };
        log.info(format!(
            "{why}: recreating it, the old one is kept as {}",
            self.prev_name()
        ));
        if old.running {
            self.stop_container(old, log).await?;
        }
        if let Some(older) = self.inspect_owned(&self.prev_name()).await? {
            self.remove(&older.id, log).await?;
        }
        self.rename(&old.id, &self.prev_name(), log).await?;
        self.create(wanted, log).await
    }

    pub(super) async fn rollback(&self, log: &ResourceLog) -> Result<()> {
        // One that got as far as the swap is finished: it only needs its
        // container started.
        let rolled_back = match self.finish_interrupted_rollback(log).await? {
            Some(current) => current,
            None => self.swap_with_previous(log).await?,
        };
        let deadline = Instant::now() + self.spec.start_timeout;
        self.start_container(&rolled_back, log).await?;
        self.wait_ready(&rolled_back, deadline, settle::SETTLE, log)
            .await?;
        log.warn(format!(
            "rolled back; run_image still says {}, so the next start recreates the container from it: change run_image to stay on the previous image",
            self.spec.run_image
        ));
        Ok(())
    }

    /// The renames of a rollback: the current container parked, the
    /// previous one current, the parked one previous. The id of the new
    /// current one.
    pub(super) async fn swap_with_previous(&self, log: &ResourceLog) -> Result<String> {
        let prev = self
            .inspect_owned(&self.prev_name())
            .await?
            .ok_or_else(|| {
                Error::invalid(format!(
                    "no previous container {} to roll back to (one is kept when start recreates the container after a run_image change)",
                    self.prev_name()
                ))
            })?;
        let current = self.inspect_owned(&self.name).await?;
        let parking = self.parking_name();
        if let Some(current) = &current {
            if current.running {
                self.stop_container(current, log).await?;
            }
            self.rename(&current.id, &parking, log).await?;
        }
        self.rename(&prev.id, &self.name, log).await?;
        if let Some(current) = &current {
            self.rename(&current.id, &self.prev_name(), log).await?;
        }
        Ok(prev.id)
    }
}
