ALTER TABLE `dz_mig_authors` ADD `email` varchar(100);
--> statement-breakpoint
CREATE INDEX `dz_mig_books_title_idx` ON `dz_mig_books` (`title`);
--> statement-breakpoint
INSERT INTO `dz_mig_authors` (`name`, `email`) VALUES ('seeded by migration', 'seed@example.com');
