# SANDBOX_FAIL makes db:migrate fail the way a broken migration does on
# MySQL: after what ran before it, with nothing rolled back.
namespace :sandbox do
  task fail_switch: :environment do
    if ENV["SANDBOX_FAIL"].present?
      raise ActiveRecord::StatementInvalid, "Mysql2::Error: Table 'orders' already exists (SANDBOX_FAIL is set)"
    end
  end
end

Rake::Task["db:migrate"].enhance { Rake::Task["sandbox:fail_switch"].invoke }
