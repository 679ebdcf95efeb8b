-- Columns the newer reference (Aug tree) added. A database created by an older reference
-- has the tables of 001 already, so CREATE TABLE IF NOT EXISTS kept them as they were;
-- this adds what is missing. ADD COLUMN IF NOT EXISTS is emulated by the store where
-- the dialect lacks it (persist/migrate.c if_missing).
ALTER TABLE `users` ADD COLUMN IF NOT EXISTS `created_at` BIGINT;
ALTER TABLE `users` ADD COLUMN IF NOT EXISTS `last_login_at` BIGINT;
ALTER TABLE `users` ADD COLUMN IF NOT EXISTS `auth_version` BIGINT DEFAULT 1;
ALTER TABLE `tokens` ADD COLUMN IF NOT EXISTS `auto_groups` TEXT;
ALTER TABLE `logs` ADD COLUMN IF NOT EXISTS `upstream_request_id` VARCHAR(128);
