-- The persister adds each call to quota_data's row of its (user, hour, model, ...)
-- key, looked up by user_id and created_at first; /api/data/self reads a user's
-- hours. new-api indexes user_id and created_at only apart. An index of ours beside
-- new-api's (GORM's AutoMigrate leaves indexes it does not know alone).
CREATE INDEX IF NOT EXISTS `idx_quota_data_user_created` ON `quota_data` (`user_id`,`created_at`);
