// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using Microsoft.EntityFrameworkCore;

namespace HealthKit.Sample.Data;

/// <summary>
/// The sample's model. Pages inject this type; the provider-specific subclasses exist only because SQLite and
/// PostgreSQL need different migrations (column types, identity columns) and EF Core finds a context's migrations
/// by its type.
/// </summary>
public abstract class SampleDbContext(DbContextOptions options) : DbContext(options)
{
    public DbSet<Note> Notes => Set<Note>();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.Entity<Note>(note =>
        {
            note.Property(n => n.Text).HasMaxLength(Note.MaxTextLength);
        });
    }
}
