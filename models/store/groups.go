package store

import (
	"context"
	"errors"
	"slices"

	"gorm.io/gorm/clause"

	"github.com/sesame-idp/sesame/models"
)

// CreateGroup stores a group; a taken name is ErrAlreadyExists.
func (s *Store) CreateGroup(ctx context.Context, g *models.Group) error {
	return mapErr("create group", s.conn(ctx).Create(g).Error)
}

// GetGroup loads a group by name with its members (ordered by address).
func (s *Store) GetGroup(ctx context.Context, name string) (*models.Group, error) {
	var g models.Group
	if err := s.conn(ctx).Where("name = ?", name).Take(&g).Error; err != nil {
		return nil, mapErr("get group", err)
	}
	err := s.conn(ctx).Model(&models.User{}).
		Joins("JOIN group_members ON group_members.user_id = users.id").
		Where("group_members.group_id = ?", g.ID).
		Order("users.email_normalized").Find(&g.Members).Error
	if err != nil {
		return nil, mapErr("get group members", err)
	}
	return &g, nil
}

// GroupSummary loads a group by name with its member count, without
// loading the members (one query; GroupMembers pages them).
func (s *Store) GroupSummary(ctx context.Context, name string) (*models.Group, error) {
	type row struct {
		models.Group
		N int64
	}
	var rows []row
	err := s.conn(ctx).Table("groups").
		Select("groups.*, (SELECT COUNT(*) FROM group_members WHERE group_members.group_id = groups.id) AS n").
		Where("groups.name = ?", name).Limit(1).Scan(&rows).Error
	if err != nil {
		return nil, mapErr("group summary", err)
	}
	if len(rows) == 0 {
		return nil, mapErr("group summary", models.ErrNotFound)
	}
	g := rows[0].Group
	g.MemberCount = rows[0].N
	return &g, nil
}

// GroupMembers returns at most limit members of the group with id
// groupID from offset, ordered by address (an indexed page: groups may
// be large).
func (s *Store) GroupMembers(ctx context.Context, groupID string, offset, limit int) ([]models.User, error) {
	var out []models.User
	err := s.conn(ctx).Model(&models.User{}).
		Joins("JOIN group_members ON group_members.user_id = users.id").
		Where("group_members.group_id = ?", groupID).
		Order("users.email_normalized").Offset(offset).Limit(limit).Find(&out).Error
	return out, mapErr("group members", err)
}

// ListGroups returns every group ordered by name, with its member count
// (one query).
func (s *Store) ListGroups(ctx context.Context) ([]models.Group, error) {
	type row struct {
		models.Group
		N int64
	}
	var rows []row
	err := s.conn(ctx).Table("groups").
		Select("groups.*, (SELECT COUNT(*) FROM group_members WHERE group_members.group_id = groups.id) AS n").
		Order("groups.name").Scan(&rows).Error
	if err != nil {
		return nil, mapErr("list groups", err)
	}
	out := make([]models.Group, len(rows))
	for i, r := range rows {
		out[i] = r.Group
		out[i].MemberCount = r.N
	}
	return out, nil
}

// UpdateGroupDescription replaces a group's description.
func (s *Store) UpdateGroupDescription(ctx context.Context, name, description string) error {
	res := s.conn(ctx).Model(&models.Group{}).Where("name = ?", name).
		Updates(map[string]any{"description": description, "updated_at": Now()})
	return affected("update group", res)
}

// DeleteGroup removes a group and its memberships (foreign keys). A
// client that still lists the group lets none of its former members in
// (fail closed) until an admin edits it.
func (s *Store) DeleteGroup(ctx context.Context, name string) error {
	return affected("delete group", s.conn(ctx).Where("name = ?", name).Delete(&models.Group{}))
}

// AddGroupMember makes a user a member of the named group, by an
// administrator's hand. An unknown group or user is ErrNotFound and
// nothing is written; adding a member again is ErrAlreadyExists. A
// membership an upstream provider granted becomes the administrator's:
// the provider no longer takes it back.
func (s *Store) AddGroupMember(ctx context.Context, name, userID string) error {
	return s.WithTx(ctx, func(ctx context.Context) error {
		var g models.Group
		if err := s.conn(ctx).Select("id").Where("name = ?", name).Take(&g).Error; err != nil {
			return mapErr("add group member: group", err)
		}
		var u models.User
		if err := s.conn(ctx).Select("id").Where("id = ?", userID).Take(&u).Error; err != nil {
			return mapErr("add group member: user", err)
		}
		// An update first: a failed insert would abort a PostgreSQL
		// transaction.
		res := s.conn(ctx).Model(&models.GroupMember{}).Where("group_id = ? AND user_id = ? AND granted_by <> ''", g.ID, userID).
			Update("granted_by", "")
		if res.Error != nil {
			return mapErr("add group member", res.Error)
		}
		if res.RowsAffected == 1 {
			return nil
		}
		m := &models.GroupMember{GroupID: g.ID, UserID: userID, CreatedAt: Now()}
		return mapErr("add group member", s.conn(ctx).Create(m).Error)
	})
}

// RemoveGroupMember ends a membership; ErrNotFound when there was none.
func (s *Store) RemoveGroupMember(ctx context.Context, name, userID string) error {
	res := s.conn(ctx).
		Where("user_id = ? AND group_id IN (SELECT id FROM groups WHERE name = ?)", userID, name).
		Delete(&models.GroupMember{})
	return affected("remove group member", res)
}

// SyncGrantedGroups makes the user's memberships granted by grantor
// (models.GrantedByUpstream) exactly those of the groups named in want
// that exist: it adds the missing ones as grantor's and ends those
// grantor granted that want no longer names. A membership grantor did not
// grant (an administrator's, another provider's) is never touched, nor
// taken over. It returns the group names added and removed, sorted.
func (s *Store) SyncGrantedGroups(ctx context.Context, userID, grantor string, want []string) (added, removed []string, err error) {
	if grantor == "" {
		return nil, nil, errors.New("sync granted groups: no grantor")
	}
	err = s.WithTx(ctx, func(ctx context.Context) error {
		type row struct{ ID, Name, GrantedBy string }
		var have []row
		if err := s.conn(ctx).Table("group_members").Select("groups.id, groups.name, group_members.granted_by").
			Joins("JOIN groups ON groups.id = group_members.group_id").
			Where("group_members.user_id = ?", userID).Scan(&have).Error; err != nil {
			return mapErr("sync granted groups", err)
		}
		var wanted []models.Group
		if len(want) > 0 {
			if err := s.conn(ctx).Select("id, name").Where("name IN ?", want).Find(&wanted).Error; err != nil {
				return mapErr("sync granted groups", err)
			}
		}
		for _, g := range wanted {
			if slices.ContainsFunc(have, func(r row) bool { return r.ID == g.ID }) {
				continue
			}
			// A concurrent sign-in may have added it: nothing to do then.
			res := s.conn(ctx).Clauses(clause.OnConflict{DoNothing: true}).
				Create(&models.GroupMember{GroupID: g.ID, UserID: userID, GrantedBy: grantor, CreatedAt: Now()})
			if res.Error != nil {
				return mapErr("sync granted groups", res.Error)
			}
			if res.RowsAffected == 1 {
				added = append(added, g.Name)
			}
		}
		for _, r := range have {
			if r.GrantedBy != grantor || slices.ContainsFunc(wanted, func(g models.Group) bool { return g.ID == r.ID }) {
				continue
			}
			res := s.conn(ctx).Where("group_id = ? AND user_id = ? AND granted_by = ?", r.ID, userID, grantor).Delete(&models.GroupMember{})
			if res.Error != nil {
				return mapErr("sync granted groups", res.Error)
			}
			if res.RowsAffected == 1 {
				removed = append(removed, r.Name)
			}
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	slices.Sort(added)
	slices.Sort(removed)
	return added, removed, nil
}

// GroupGrantors returns, by group name, who granted each of the user's
// memberships ("" an administrator).
func (s *Store) GroupGrantors(ctx context.Context, userID string) (map[string]string, error) {
	type row struct{ Name, GrantedBy string }
	var rows []row
	if err := s.conn(ctx).Table("group_members").Select("groups.name, group_members.granted_by").
		Joins("JOIN groups ON groups.id = group_members.group_id").
		Where("group_members.user_id = ?", userID).Scan(&rows).Error; err != nil {
		return nil, mapErr("group grantors", err)
	}
	out := make(map[string]string, len(rows))
	for _, r := range rows {
		out[r.Name] = r.GrantedBy
	}
	return out, nil
}

// UserGroups returns the names of the groups a user belongs to, sorted
// (one indexed query: it runs for every token that carries groups).
func (s *Store) UserGroups(ctx context.Context, userID string) ([]string, error) {
	var names []string
	err := s.conn(ctx).Table("groups").
		Joins("JOIN group_members ON group_members.group_id = groups.id").
		Where("group_members.user_id = ?", userID).
		Order("groups.name").Pluck("groups.name", &names).Error
	if err != nil {
		return nil, mapErr("user groups", err)
	}
	return names, nil
}

// MissingGroups returns those of names that name no group (nil when all
// exist), so a client or a membership naming an unknown group is refused
// before anything is written.
func (s *Store) MissingGroups(ctx context.Context, names []string) ([]string, error) {
	if len(names) == 0 {
		return nil, nil
	}
	var found []string
	if err := s.conn(ctx).Model(&models.Group{}).Where("name IN ?", names).Pluck("name", &found).Error; err != nil {
		return nil, mapErr("find groups", err)
	}
	var missing []string
	for _, n := range names {
		if !slices.Contains(found, n) {
			missing = append(missing, n)
		}
	}
	return missing, nil
}

// UserProfile is the admin-editable profile of a user.
type UserProfile struct {
	Username   *string
	GivenName  string
	FamilyName string
	Locale     string
	Picture    string
	Attributes models.JSONObject
}

// SetUserProfile replaces a user's profile fields (callers validate
// them). A username another user holds is ErrAlreadyExists and nothing is
// written.
func (s *Store) SetUserProfile(ctx context.Context, id string, p UserProfile) error {
	attrs := p.Attributes
	if attrs == nil {
		attrs = models.JSONObject{}
	}
	res := s.conn(ctx).Model(&models.User{}).Where("id = ?", id).Updates(map[string]any{
		"username": p.Username, "given_name": p.GivenName, "family_name": p.FamilyName,
		"locale": p.Locale, "picture": p.Picture, "attributes": attrs, "updated_at": Now(),
	})
	return affected("set user profile", res)
}
